// GRPO configuration: TRL's GRPOConfig fields in camelCase, with TRL's defaults except where the
// tiny GPT needs others (said in the field's doc).

import { ValueError } from '../../core/errors';
import { checkLmTrainerConfig, defaultLmTrainerConfig, type LmTrainerConfig } from '../lm/config';

/** How token losses are normalised (TRL's loss_type). */
export type GRPOLossType = 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';

/** How group-centred rewards are scaled (TRL's scale_rewards). */
export type ScaleRewards = 'group' | 'batch' | 'none';

export interface GRPOConfig extends LmTrainerConfig {
  /** KL coefficient of the k3 term in the loss; 0 (TRL's default) builds no reference model. */
  beta: number;
  /** Lower clip range: ratios below 1 - epsilon are clipped (TRL epsilon, 0.2). */
  epsilon: number;
  /** Upper clip range: ratios above 1 + epsilonHigh are clipped (DAPO's clip-higher; default: epsilon). */
  epsilonHigh: number;
  /**
   * Token-loss normalisation (TRL's default 'dapo'). Per minibatch (one optimizer step):
   * 'grpo' sum over each sequence's tokens / its length, then mean over sequences;
   * 'bnpo' sum over the minibatch's tokens / their count;
   * 'dr_grpo' sum over the minibatch's tokens / (minibatch rows x maxNewTokens);
   * 'dapo' sum over the minibatch's tokens / the tokens of the whole generation batch (TRL's num_items_in_batch).
   */
  lossType: GRPOLossType;
  /** 'group' divides by each group's std, 'batch' by the whole batch's, 'none' (Dr. GRPO) not at all (TRL 'group'). */
  scaleRewards: ScaleRewards;
  /**
   * Truncated importance sampling against the engine's log-probs (TRL's
   * vllm_importance_sampling_correction in 'token_truncate' mode, cap = vllm_importance_sampling_clip_max):
   * every token loss is multiplied by min(exp(logp_old - logp_engine), cap). 0 (default) turns it off;
   * TRL's cap is 3. Needs an engine whose log-probs are usable.
   */
  importanceSamplingCap: number;
}

export function defaultGRPOConfig(): GRPOConfig {
  return {
    ...defaultLmTrainerConfig(),
    beta: 0,
    epsilon: 0.2,
    epsilonHigh: 0.2,
    lossType: 'dapo',
    scaleRewards: 'group',
    importanceSamplingCap: 0,
  };
}

const LOSS_TYPES: readonly GRPOLossType[] = ['grpo', 'bnpo', 'dr_grpo', 'dapo'];
const SCALINGS: readonly ScaleRewards[] = ['group', 'batch', 'none'];

/** Defaults filled in (epsilonHigh follows epsilon unless given), every field checked (ValueError naming it). */
export function resolveGRPOConfig(config: Partial<GRPOConfig> = {}): GRPOConfig {
  if (config === null || typeof config !== 'object') throw new ValueError(`GRPOConfig: config must be an object, got ${String(config)}`);
  const epsilon = config.epsilon ?? 0.2;
  const c: GRPOConfig = { ...defaultGRPOConfig(), epsilonHigh: epsilon, ...stripUndefined(config) };
  checkLmTrainerConfig('GRPOConfig', c);
  const nonNegative = (field: keyof GRPOConfig) => {
    const v = c[field];
    if (typeof v !== 'number' || !(v >= 0) || v === Infinity) throw new ValueError(`GRPOConfig.${field} must be a finite number >= 0, got ${String(v)}`);
  };
  nonNegative('beta');
  nonNegative('epsilon');
  nonNegative('epsilonHigh');
  nonNegative('importanceSamplingCap');
  if (c.epsilon >= 1) throw new ValueError(`GRPOConfig.epsilon must be < 1 (the lower clip bound is 1 - epsilon), got ${c.epsilon}`);
  if (c.importanceSamplingCap !== 0 && c.importanceSamplingCap < 1) throw new ValueError(`GRPOConfig.importanceSamplingCap must be 0 (off) or >= 1, got ${c.importanceSamplingCap}`);
  if (!LOSS_TYPES.includes(c.lossType)) throw new ValueError(`GRPOConfig.lossType must be one of ${LOSS_TYPES.join(', ')}, got ${String(c.lossType)}`);
  if (!SCALINGS.includes(c.scaleRewards)) throw new ValueError(`GRPOConfig.scaleRewards must be one of ${SCALINGS.join(', ')}, got ${String(c.scaleRewards)}`);
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
