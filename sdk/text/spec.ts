// The data that defines a tokenizer, shared by the Tokenizer class and the Hugging Face file
// reader/writer (which must not import the class).

/** Everything that defines a tokenizer; what the Hugging Face files hold. */
export interface TokenizerSpec {
  /** Byte-level token string -> id for the BPE tokens: the 256 bytes and every merge's result. */
  vocab: Readonly<Record<string, number>>;
  /** Merges in rank order (rank 0 is applied first). */
  merges: readonly (readonly [string, string])[];
  /** Special token text -> id. Together with vocab the ids must be exactly 0 .. size - 1. */
  specialTokens?: Readonly<Record<string, number>>;
  /** End of text (GPT-2: `<|endoftext|>`); must be a special token. */
  eosToken?: string;
  /** Beginning of text (GPT-2: `<|endoftext|>`, not added by encode). */
  bosToken?: string;
  /** Unknown token (GPT-2: `<|endoftext|>`; byte-level BPE never needs it). */
  unkToken?: string;
  /** Padding token for batches: a special token of its own, or the eos token (GPT-2 has none). */
  padToken?: string;
  /** Longest sequence the model takes (GPT-2: 1024), written to tokenizer_config.json. */
  modelMaxLength?: number;
}
