// Where a trainer's prompts come from: a PromptDataset (anything with next(k), and state() /
// loadState() for checkpoints) or a plain array of PromptRow, cycled in order.

import { ValueError } from '../../core/errors';
import type { PromptRow } from '../../interfaces/reward_function';

/** k prompts at a time, with a position that checkpoints save and restore. */
export interface PromptSource {
  /** The next k prompts (a dataset that streams may resolve them asynchronously). */
  next(k: number): PromptRow[] | Promise<PromptRow[]>;
  /** JSON-serialisable position (saved in checkpoints). */
  state?(): unknown;
  /** Restores state(); checks it first. */
  loadState?(state: unknown): void;
}

/** Cycles through a fixed array of prompts in order; the position is the index of the next one. */
export class CyclingPrompts implements PromptSource {
  private position = 0;

  constructor(private readonly rows: readonly PromptRow[]) {
    if (!Array.isArray(rows) || rows.length === 0) throw new ValueError('CyclingPrompts: needs a non-empty array of PromptRow');
    rows.forEach((row, i) => {
      if (row === null || typeof row !== 'object' || typeof row.text !== 'string' || !Array.isArray(row.ids) || row.ids.length === 0) {
        throw new ValueError(`CyclingPrompts: prompt ${i} must be a PromptRow {text, ids (non-empty), fields}`);
      }
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
    const position = (state as { position?: unknown } | null)?.position;
    if (!Number.isSafeInteger(position) || (position as number) < 0 || (position as number) >= this.rows.length) {
      throw new ValueError(`CyclingPrompts.loadState: position must be an integer in [0, ${this.rows.length}), got ${JSON.stringify(position)}`);
    }
    this.position = position as number;
  }
}

/** A PromptSource for a dataset or an array of rows. */
export function promptSource(dataset: PromptSource | readonly PromptRow[]): PromptSource {
  if (Array.isArray(dataset)) return new CyclingPrompts(dataset);
  if (dataset === null || typeof dataset !== 'object' || typeof (dataset as PromptSource).next !== 'function') {
    throw new ValueError(`trainer: dataset must be a PromptDataset (with next(k)) or an array of PromptRow, got ${String(dataset)}`);
  }
  return dataset as PromptSource;
}
