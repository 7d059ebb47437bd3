// Checks shared by every reward manager. Rewards come from environments, reward models and
// user code; a NaN or infinity here would silently poison the advantages and then every
// parameter, so it is refused where it enters, naming the index and the value.

import { NumericError, ShapeError, ValueError } from '../core/errors';
import type { RewardBatch } from '../interfaces/reward_manager';

/**
 * Refuses a batch whose arrays differ in length (ShapeError) or whose rewards hold NaN or
 * infinity (NumericError). `fields` lists further float arrays the manager reads
 * (e.g. 'logProbs'), which must be present (else ValueError) and finite too.
 */
export function checkRewardBatch(manager: string, batch: RewardBatch, fields: readonly ('logProbs' | 'refLogProbs')[] = []): void {
  const n = batch.rewards.length;
  for (const name of ['logProbs', 'refLogProbs', 'dones'] as const) {
    const array = batch[name];
    if (array !== undefined && array.length !== n) {
      throw new ShapeError(`${manager}.compute`, [[n], [array.length]], `${name} has ${array.length} entries but rewards has ${n}: every array holds one entry per step`);
    }
  }
  checkFinite(manager, 'rewards', batch.rewards);
  for (const name of fields) {
    const array = batch[name];
    if (array === undefined) throw new ValueError(`${manager}.compute: batch.${name} is required but absent`);
    checkFinite(manager, name, array);
  }
}

/** Refuses NaN and infinities, naming the array, the index and the value. */
export function checkFinite(manager: string, field: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new NumericError(`${manager}.compute: ${field}[${i}] is ${values[i]}; rewards need finite inputs`);
  }
}
