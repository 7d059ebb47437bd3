// DPOTrainer's settings, named after TRL's DPOConfig (camelCase).

import { ValueError } from '../../core/errors';
import { checkNumber, checkOfflineTrainerConfig, type OfflineTrainerConfig } from '../offline_config';
import { DPO_LOSS_TYPES, type DpoLossType } from './loss';

export interface DPOConfig extends OfflineTrainerConfig {
  /** Strength of the implicit KL to the reference (beta, default 0.1). */
  beta?: number;
  /** 'sigmoid' (DPO, default), 'ipo' or 'hinge' (loss_type). */
  lossType?: DpoLossType;
  /** cDPO's label-flip probability for lossType 'sigmoid', in [0, 0.5) (label_smoothing, default 0). */
  labelSmoothing?: number;
}

export type ResolvedDPOConfig = Required<DPOConfig>;

/** Fills in defaults for a model of `nPositions` and checks every field (ValueError names it). */
export function resolveDPOConfig(config: DPOConfig, nPositions: number): ResolvedDPOConfig {
  const maxPromptLength = config.maxPromptLength ?? Math.floor(nPositions / 2);
  const c: ResolvedDPOConfig = {
    beta: config.beta ?? 0.1,
    lossType: config.lossType ?? 'sigmoid',
    labelSmoothing: config.labelSmoothing ?? 0,
    learningRate: config.learningRate ?? 1e-6,
    batchSize: config.batchSize ?? 8,
    weightDecay: config.weightDecay ?? 0,
    maxGradNorm: config.maxGradNorm ?? 1.0,
    maxPromptLength,
    maxCompletionLength: config.maxCompletionLength ?? nPositions - maxPromptLength,
    shuffle: config.shuffle ?? true,
    seed: config.seed ?? 42,
  };
  const who = 'DPOConfig';
  checkNumber(who, 'beta', c.beta, 0, false);
  if (!DPO_LOSS_TYPES.includes(c.lossType)) throw new ValueError(`${who}: lossType must be one of ${DPO_LOSS_TYPES.join(', ')}, got ${JSON.stringify(c.lossType)}`);
  checkNumber(who, 'labelSmoothing', c.labelSmoothing, 0, true);
  if (c.labelSmoothing >= 0.5) throw new ValueError(`${who}: labelSmoothing must be < 0.5, got ${c.labelSmoothing}`);
  if (c.labelSmoothing > 0 && c.lossType !== 'sigmoid') throw new ValueError(`${who}: labelSmoothing applies to lossType 'sigmoid' only, not '${c.lossType}'`);
  checkOfflineTrainerConfig(who, c);
  return c;
}
