// Text: GPT-2-style byte-level BPE tokenization, its training, and Hugging Face's tokenizer files.
export {
  Tokenizer,
  END_OF_TEXT,
  type TokenizerSpec,
  type TrainTokenizerOptions,
  type EncodeOptions,
  type DecodeOptions,
  type EncodeBatchOptions,
} from './tokenizer';
export { padBatch, type BatchOptions, type EncodedBatch } from './batch';
export { trainBpe, type TrainBpeOptions, type TrainedBpe } from './train';
export { preTokenize, splitOnSpecialTokens, GPT2_SPLIT_PATTERN, type TextPiece } from './pretokenize';
export { BYTE_TO_CHAR, BYTES_IN_VOCAB_ORDER, bytesToByteLevel, byteLevelToBytes, wellFormed } from './byte_level';
export { toHuggingFaceFiles, parseHuggingFaceFiles, HF_FILE_NAMES } from './huggingface';
export { specFromRanks } from './ranks';
