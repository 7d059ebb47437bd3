// NovaRL's public API.
export { init } from './core/wasm_node'; // index.browser.ts swaps in the fetch-based loader
export { simdSupported, type InitOptions, type WasmSource } from './core/wasm';
export { Core, defaultCore, setDefaultCore } from './core/core';
export { Tensor, type TensorOptions, type MatmulOptions } from './core/tensor';
export { Module, Parameter, StateDictError, type StateDict } from './core/module';
export { noGrad } from './core/grad_mode';
export * from './core/errors';
export { type Shape } from './core/shape';
export { detMath, type DetMath } from './core/det_math';
export * from './interfaces/index';
export { computeGae, type GaeInput, type GaeOutput } from './buffers/gae';
export {
  RolloutBuffer,
  whiten,
  explainedVariance,
  type RolloutBufferOptions,
  type AdvantageNormalization,
} from './buffers/rollout_buffer';
export { SyncRolloutEngine, type SyncRolloutEngineOptions, type SyncRolloutEngineState } from './engines/sync_rollout';
export { Prng, type PrngState } from './core/prng';
export * from './envs/index';
export * from './rewards/index';
export { Timer, type Clock } from './observability/timing';
export { Logger, ConsoleSink, JsonlSink, CallbackSink, formatMetric, toJsonLine, type LogSink, type ConsoleSinkOptions } from './observability/logger';
export { ProgressBar, interactiveTerminal, formatDuration, type ProgressOptions } from './observability/progress';
export {
  serializeSafetensors,
  parseSafetensors,
  DEFAULT_MAX_HEADER_BYTES,
  type SafetensorsDtype,
  type SafeTensor,
  type SafetensorsContents,
  type TensorData,
  type ParseOptions,
} from './io/safetensors';
export {
  saveCheckpoint,
  loadCheckpoint,
  encodeCheckpoint,
  decodeCheckpoint,
  crc32,
  type CheckpointState,
  type LoadedCheckpoint,
  type SaveOptions,
  type SaveStep,
} from './io/checkpoint';
export * from './nn/index';
export { PPOTrainer, type PPOTrainerOptions, type ReferencePolicy } from './algos/ppo/trainer';
export { defaultPPOConfig, resolvePPOConfig, type PPOConfig, type KlEstimatorName } from './algos/ppo/config';
export { FixedKlController, WindowKlController, ProportionalKlController, type KlController } from './algos/ppo/kl_controller';
export { saveTrainerCheckpoint, loadTrainerCheckpoint, restoreTrainer, trainerCheckpointState } from './algos/ppo/checkpoint';
export { ppoClipLoss, klEstimate, entropyFromLogits, valueLoss, maskedMean, type PpoClipLossInput, type PpoClipLossOutput, type KlEstimator, type ValueLossInput, type ValueLossOutput } from './core/losses';
export { Optimizer, SGD, Adam, AdamW, AdamBase, clipGradNorm, type SGDOptions, type AdamOptions, type OptimizerState } from './core/optim';
export { seed, getRngState, setRngState, uniform_, normal_, orthogonal_, sampleCategorical, randomPermutation } from './core/random';
// The GPU plug-in (kernels/) is its own entry, 'novarl/gpu'; nothing here imports it (docs/architecture.md, "Layers").
// GPT-2 language model (transformers' GPT2LMHeadModel layout) and the Hugging Face model directory
export { GPT, resolveGPTConfig, tokenLogProbsOf, MASKED_SCORE, type GPTConfig, type ResolvedGPTConfig, type GPTOptions, type GPTForwardOptions, type GPTLossOptions, type TokenRows } from './nn/gpt';
export {
  saveHuggingFace,
  loadHuggingFace,
  encodeHuggingFace,
  decodeHuggingFace,
  huggingFaceConfig,
  gptConfigFromHuggingFace,
  TRANSFORMERS_VERSION,
  type HuggingFaceTokenizerSource,
  type GenerationDefaults,
  type HuggingFaceSaveOptions,
  type HuggingFaceDiskSaveOptions,
  type HuggingFaceSaveStep,
  type HuggingFaceLoadOptions,
  type LoadedHuggingFace,
} from './io/huggingface';
// Transformer ops: narrow / writeInto / crossEntropy / tokenLogProbs / argmax are Tensor
// methods; fused causal attention beside its composed reference; token sampling.
export { causalSelfAttention, causalSelfAttentionReference, type AttentionOptions } from './nn/attention';
export { sampleTokens, type SampleTokensOptions, type SampledTokens } from './core/random';
export { MAX_VOCABULARY, type CrossEntropyOptions } from './core/tensor';
// Text: byte-level BPE tokenizer (training, special tokens, batches, Hugging Face files)
export * from './text/index';
// One training step for every algorithm: the typed rollout batch and PPO as a reusable step
export { TensorRolloutBatch, type RolloutBatchArrays } from './buffers/rollout_batch';
export { ppoStep, type PpoStepConfig, type PpoStepOptions, type PpoStepStats, type PpoMinibatch } from './algos/ppo/step';
export { type PPOMetrics } from './algos/ppo/metrics';
export { lossKlWarnings, MAX_ROWS } from './algos/ppo/config';
export { checkTrainerState, checkRngState, checkOptimizerCounters, type PPOTrainerState } from './algos/ppo/trainer_state';
// Generation: batched sampling from a GPT with a KV cache in the core (left padding, stop tokens)
export { generate, type GenerateOptions, type GenerateResult, type FinishReason } from './nn/generate';
export { KVCache, type KVCacheShape } from './nn/kv_cache';
export { CachedDecode } from './nn/cached_decode';
export { type GPTCachedOptions } from './nn/gpt';

// Deterministic f32 transcendentals on the host, bit for bit the core's (assembly/math/det.ts)
export { detExpF32, detExpm1F32, detLogF32, detTanhF32, detSigmoidF32, detGeluF32 } from './core/det_math';
// Learning-rate schedules (nanoGPT's warm-up + cosine)
export { cosineWithWarmup, type CosineWithWarmupOptions } from './core/lr_schedule';
// Token-level RLHF: where completions come from, and the (B, L + R) layout every algorithm scores
export type { CompletionEngine, CompletionRequest, Completions, SamplingParams } from './interfaces/completion_engine';
export { LocalCompletionEngine, type LocalCompletionEngineOptions } from './lm/local_engine';
export { SequenceBatch, responseForward, type SequenceRows, type ResponseForwardOptions, type ResponseForward } from './lm/sequence_batch';
export type { RewardFunction, NamedRewardFunction, RewardExtra, PromptRow } from './interfaces/reward_function';
export { collectLmRollout, truncatedImportanceWeights, type LmRollout, type LmRolloutOptions, type OffPolicyStats } from './lm/rollout';
export { frozenReference, trunkWeights } from './lm/reference';
// Remote rollouts: the OpenAI-compatible (vLLM) completion engine, its retries, and weight sync
export { OpenAICompatibleEngine, type OpenAICompatibleEngineOptions } from './engines/openai_compatible';
export { checkCompletionResponse, type CheckedChoice, type CheckedResponse, type ResponseExpectation } from './engines/completion_response';
export { HttpTransport, realSleep, type HttpTransportOptions, type HttpRequest, type HttpResponse, type RetryEvent, type Sleep } from './engines/http_transport';
export { resolveRetryOptions, isRetryableStatus, backoffDelayMs, parseRetryAfterMs, type RetryOptions, type ResolvedRetryOptions } from './engines/retry_policy';
export { NovaRLServerWeightSync, VllmReloadWeightSync, NoWeightSync, type WeightSync, type VllmReloadWeightSyncOptions } from './engines/weight_sync';
// RLHF data: prompt datasets, reward functions and their scoring, preference pairs, the completions table
// (the sentiment reward is its own entry, 'novarl/sentiment', so the core keeps no runtime dependencies)
export { PromptDataset, type PromptEntry, type PromptDatasetOptions, type PromptDatasetState } from './lm/prompt_dataset';
export { type DatasetPosition } from './lm/dataset_source';
export { scoreRewards, checkRewardFuncs, type ScoredRewards } from './rewards/reward_funcs';
export { ruleReward, lengthReward, containsReward, regexReward, exactMatchReward, eosReward, type RewardOptions, type LengthRewardOptions, type MatchRewardOptions } from './rewards/rule_rewards';
export { PreferencePairs, buildPreferencePairs, type PreferencePair, type PreferencePairEntry, type PreferencePairsOptions, type PreferencePairsState, type BuildPreferencePairsOptions, type BuiltPreferencePairs } from './lm/preference_pairs';
export { CompletionsTable, completionRows, readCompletionsTable, formatCompletionsTable, toRecordLine, type CompletionRow, type CompletionRecord, type CompletionsTableOptions } from './observability/completions_table';
// Reward model and DPO (issue 11 items 4 and 5): preference pairs as token ids, a GPT2ForSequenceClassification-shaped
// reward model with the Bradley-Terry loss and its trainer, a learned reward as a reward function, DPO / IPO / hinge
export { encodePairs, checkPairLengths, type PairInput, type EncodedPair, type PairTokenizer, type PairEncodingOptions } from './lm/pair_encoding';
export { logSigmoid } from './core/log_sigmoid';
export { GPTRewardModel, lastNonPaddingIndex, type GPTRewardModelOptions } from './algos/reward_model/model';
export { bradleyTerryLoss, preferenceStats, type BradleyTerryInput } from './algos/reward_model/loss';
export { resolveRewardModelConfig, type RewardModelConfig, type ResolvedRewardModelConfig } from './algos/reward_model/config';
export { RewardModelTrainer, type RewardModelTrainerOptions, type RewardModelMetrics } from './algos/reward_model/trainer';
export { encodeRewardModelHuggingFace, decodeRewardModelHuggingFace, saveRewardModelHuggingFace, loadRewardModelHuggingFace, type RewardModelSaveOptions, type LoadedRewardModel } from './algos/reward_model/huggingface';
export { rewardModelReward, type RewardModelRewardOptions } from './algos/reward_model/reward';
export { dpoLoss, DPO_LOSS_TYPES, type DpoLossType, type DpoLossInput } from './algos/dpo/loss';
export { pairSequenceBatch, pairLogps, type PairLogps } from './algos/dpo/sequence_logps';
export { resolveDPOConfig, type DPOConfig, type ResolvedDPOConfig } from './algos/dpo/config';
export { DPOTrainer, type DPOTrainerOptions } from './algos/dpo/trainer';
export { writeHuggingFaceDirectory, readHuggingFaceDirectory } from './io/huggingface';
// GRPO and RLOO for language models (TRL's GRPOTrainer and RLOOTrainer): group-relative and
// leave-one-out advantages, their losses, the trainers, and their checkpoints
export { GRPOTrainer, type GRPOTrainerOptions } from './algos/grpo/trainer';
export { defaultGRPOConfig, resolveGRPOConfig, type GRPOConfig, type GRPOLossType, type ScaleRewards } from './algos/grpo/config';
export { groupRelativeAdvantages, unbiasedStd, STD_EPSILON, type GroupAdvantages } from './algos/grpo/advantages';
export { grpoLoss, type GrpoLossInput, type GrpoLossOutput } from './algos/grpo/loss';
export { RLOOTrainer, type RLOOTrainerOptions } from './algos/rloo/trainer';
export { defaultRLOOConfig, resolveRLOOConfig, type RLOOConfig } from './algos/rloo/config';
export { leaveOneOutAdvantages, sequenceKl } from './algos/rloo/advantages';
export { rlooLoss, type RlooLossInput, type RlooLossOutput } from './algos/rloo/loss';
export { LmGroupTrainer, samplingSeed, type LmTrainerOptions, type MetricsLogger, type CompletionsSink, type AdvantageResult } from './algos/lm/trainer';
export { defaultLmTrainerConfig, type LmTrainerConfig } from './algos/lm/config';
export { CyclingPrompts, promptSource, type PromptSource } from './algos/lm/prompt_source';
export { lmTrainerCheckpointState, saveLmTrainer, loadLmTrainer, restoreLmTrainer } from './algos/lm/checkpoint';

// PPO for language models (issue 11 item 2): LMPPOTrainer, the InstructGPT / TRL PPOTrainer recipe
export { LMPPOTrainer, type LMPPOTrainerOptions, type LMPPOTrainerState, type LmPpoCompletionsSink } from './algos/ppo_lm/trainer';
export { resolveLMPPOConfig, LM_PPO_DEFAULTS, type LMPPOConfig } from './algos/ppo_lm/config';
export { lmAdvantages, maskedWhiten, type LmAdvantageInput, type LmAdvantages } from './algos/ppo_lm/advantages';
export { SequencePolicy, criticValues } from './algos/ppo_lm/policy';
export { lmPpoStep, type LmPpoTargets, type LmPpoStepOptions } from './algos/ppo_lm/step';
// ArrayPromptSource: LMPPOTrainer's earlier name for CyclingPrompts
export { CyclingPrompts as ArrayPromptSource } from './algos/lm/prompt_source';
export { lmPpoCheckpointState, saveLmPpoCheckpoint, loadLmPpoCheckpoint, restoreLmPpoTrainer } from './algos/ppo_lm/checkpoint';
