// One optimisation step of the offline preference trainers (RewardModelTrainer, DPOTrainer) on a
// batch's loss: a loss that is not finite changes nothing (the caller's `putBack` restores the
// pair order, then a ValueError); otherwise backward, the optional global-norm clip, AdamW.

import { ValueError } from '../core/errors';
import { clipGradNorm, type Optimizer } from '../core/optim';
import type { Tensor } from '../core/tensor';

/** Returns the loss's value and the gradient norm before clipping (NaN when maxGradNorm is 0: clipping off). */
export function offlineUpdate(loss: Tensor, optimizer: Optimizer, maxGradNorm: number, putBack: () => void, who: string): { lossValue: number; gradNorm: number } {
  const lossValue = loss.item();
  if (!Number.isFinite(lossValue)) {
    putBack();
    throw new ValueError(`${who}.step: the loss is ${lossValue} (learning rate too high?); no parameter was changed`);
  }
  loss.backward();
  const gradNorm = maxGradNorm > 0 ? clipGradNorm(optimizer.params, maxGradNorm) : Number.NaN;
  optimizer.step();
  optimizer.zeroGrad();
  return { lossValue, gradNorm };
}
