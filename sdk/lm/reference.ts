// The frozen reference model of token-level RLHF: a copy of the policy's language model taken
// before training (its value head, if any, left out), whose parameters never receive a gradient.

import { noGrad } from '../core/grad_mode';
import type { StateDict } from '../core/module';
import { GPT } from '../nn/gpt';

/** The transformer trunk's weights (`transformer.*`), without a value head: what a reference, a critic or a reward model starts from. */
export function trunkWeights(policy: GPT): StateDict {
  return Object.fromEntries(Object.entries(policy.stateDict()).filter(([name]) => name.startsWith('transformer.')));
}

/** A frozen copy of `policy`'s transformer (no value head), on the same core. */
export function frozenReference(policy: GPT): GPT {
  const reference = new GPT(policy.config, { init: false, core: policy.core });
  noGrad(() => reference.loadStateDict(trunkWeights(policy)), policy.core);
  for (const p of reference.parameters()) p.setRequiresGrad(false);
  return reference;
}
