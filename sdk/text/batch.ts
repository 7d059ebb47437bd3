// Rows of token ids -> one rectangular (B, T) batch with an attention mask, as a model takes it.

import { ValueError } from '../core/errors';

export interface BatchOptions {
  /** 'longest': pad every row to the longest (after truncation); 'max_length': to maxLength. Default 'longest'. */
  padding?: 'longest' | 'max_length';
  /** Where padding goes: 'right' (training) or 'left' (prompts for generation, so they end together). Default 'right'. */
  paddingSide?: 'right' | 'left';
  /** Longest row kept; required with padding 'max_length'. */
  maxLength?: number;
  /** Cut rows longer than maxLength (true, the default when maxLength is given) or refuse them (false). */
  truncation?: boolean;
  /** Which end a cut row loses: 'right' keeps the start, 'left' keeps the end. Default 'right'. */
  truncationSide?: 'right' | 'left';
}

/** A padded batch; row b's tokens are inputIds[b * seqLength .. (b + 1) * seqLength). */
export interface EncodedBatch {
  /** ids: (batchSize, seqLength), row-major; padding positions hold the pad token's id. */
  inputIds: Int32Array;
  /** (batchSize, seqLength): 1 at a real token, 0 at padding. */
  attentionMask: Int32Array;
  batchSize: number;
  seqLength: number;
  /** Real tokens in each row (after truncation). */
  lengths: Int32Array;
}

/** Pads (and truncates) rows of ids into one batch; `padId` fills the padding positions. */
export function padBatch(rows: readonly ArrayLike<number>[], padId: number | undefined, options: BatchOptions = {}): EncodedBatch {
  const { padding = 'longest', paddingSide = 'right', maxLength, truncationSide = 'right' } = options;
  const truncation = options.truncation ?? maxLength !== undefined;
  if (padding !== 'longest' && padding !== 'max_length') throw new ValueError(`padBatch: padding must be 'longest' or 'max_length', got ${String(padding)}`);
  if (paddingSide !== 'left' && paddingSide !== 'right') throw new ValueError(`padBatch: paddingSide must be 'left' or 'right', got ${String(paddingSide)}`);
  if (truncationSide !== 'left' && truncationSide !== 'right') throw new ValueError(`padBatch: truncationSide must be 'left' or 'right', got ${String(truncationSide)}`);
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 0)) throw new ValueError(`padBatch: maxLength must be a non-negative integer, got ${maxLength}`);
  if (padding === 'max_length' && maxLength === undefined) throw new ValueError(`padBatch: padding 'max_length' needs maxLength`);
  if (padId === undefined) throw new ValueError('padBatch: the tokenizer has no pad token; give it one with withPadToken(token), e.g. withPadToken(tokenizer.eosToken) to pad with end-of-text as Hugging Face users do');

  const kept = rows.map((row, b) => {
    if (maxLength === undefined || row.length <= maxLength) return row;
    if (!truncation) throw new ValueError(`padBatch: row ${b} has ${row.length} tokens, more than maxLength ${maxLength}, and truncation is off`);
    const ids = Array.from(row);
    return truncationSide === 'right' ? ids.slice(0, maxLength) : ids.slice(ids.length - maxLength);
  });
  const seqLength = padding === 'max_length' ? maxLength! : kept.reduce((longest, row) => Math.max(longest, row.length), 0);
  const batchSize = kept.length;
  const inputIds = new Int32Array(batchSize * seqLength).fill(padId);
  const attentionMask = new Int32Array(batchSize * seqLength);
  const lengths = new Int32Array(batchSize);
  kept.forEach((row, b) => {
    const start = b * seqLength + (paddingSide === 'left' ? seqLength - row.length : 0);
    for (let t = 0; t < row.length; t++) {
      inputIds[start + t] = row[t]!;
      attentionMask[start + t] = 1;
    }
    lengths[b] = row.length;
  });
  return { inputIds, attentionMask, batchSize, seqLength, lengths };
}
