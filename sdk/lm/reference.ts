// The frozen reference model of token-level RLHF: a copy of the policy's language model taken
// before training (its value head, if any, left out), whose parameters never receive a gradient.

import { noGrad } from '../core/grad_mode';
import { GPT } from '../nn/gpt';

/** A frozen copy of `policy`'s transformer (no value head), on the same core. */
export function frozenReference(policy: GPT): GPT {
  const reference = new GPT(policy.config, { init: false, core: policy.core });
  const weights = Object.fromEntries(Object.entries(policy.stateDict()).filter(([name]) => !name.startsWith('v_head.')));
  noGrad(() => reference.loadStateDict(weights), policy.core);
  for (const p of reference.parameters()) p.setRequiresGrad(false);
  return reference;
}
