// Where LMPPOTrainer takes its prompts from: anything with next(k) (the prompt dataset), or a
// plain array of PromptRow, cycled in order. The position is part of the trainer's checkpoint.

import { ValueError } from '../../core/errors';
import type { PromptRow } from '../../interfaces/reward_function';

/** A prompt provider: the next k prompts, and (for bit-exact resume) its position as JSON. */
export interface PromptSource {
  next(k: number): PromptRow[];
  /** The position, as plain JSON (saved in the trainer's checkpoint). */
  state?(): unknown;
  loadState?(state: unknown): void;
}

/** A fixed list of prompts, taken k at a time in order, wrapping around. */
export class ArrayPromptSource implements PromptSource {
  private position = 0;

  constructor(readonly rows: readonly PromptRow[]) {
    if (!Array.isArray(rows) || rows.length === 0) throw new ValueError('ArrayPromptSource: prompts must be a non-empty array of PromptRow');
    rows.forEach((row, i) => {
      if (!row || typeof row.text !== 'string' || !Array.isArray(row.ids) || row.ids.length === 0) throw new ValueError(`ArrayPromptSource: prompt ${i} must be { text, ids (non-empty), fields }`);
    });
  }

  next(k: number): PromptRow[] {
    const out: PromptRow[] = [];
    for (let i = 0; i < k; i++) {
      out.push(this.rows[this.position]!);
      this.position = (this.position + 1) % this.rows.length;
    }
    return out;
  }

  state(): { position: number } {
    return { position: this.position };
  }

  loadState(state: unknown): void {
    const p = (state as { position?: unknown } | null)?.position;
    if (!Number.isSafeInteger(p) || (p as number) < 0 || (p as number) >= this.rows.length) throw new ValueError(`ArrayPromptSource.loadState: position must be an integer in [0, ${this.rows.length}), got ${JSON.stringify(p)}`);
    this.position = p as number;
  }
}

/** The trainer's view of its `dataset` argument. */
export function toPromptSource(dataset: PromptSource | readonly PromptRow[]): PromptSource {
  if (Array.isArray(dataset)) return new ArrayPromptSource(dataset);
  if (dataset && typeof (dataset as PromptSource).next === 'function') return dataset as PromptSource;
  throw new ValueError('LMPPOTrainer: dataset must be a PromptDataset (anything with next(k)) or an array of PromptRow');
}
