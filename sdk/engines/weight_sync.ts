// Weight sync: after each optimiser update the trainer calls `await sync.afterUpdate(policy, k)`
// so the server that samples the next rollouts holds the trained weights. Three strategies:
//
//   NovaRLServerWeightSync  POST the model.safetensors bytes (encodeHuggingFace) to NovaRL's
//                           server at /novarl/update_weights; check the returned weights_version
//                           and that GET /health reports it.
//   VllmReloadWeightSync    write the Hugging Face directory (saveHuggingFace) where vLLM loaded
//                           the model from, then ask vLLM to reload it: POST /collective_rpc
//                           {"method": "reload_weights"} (a dev-mode route: VLLM_SERVER_DEV_MODE=1),
//                           then POST /reset_prefix_cache (its cached KV came from the old weights).
//   NoWeightSync            nothing is sent; `staleness` counts the updates the server lags by
//                           (pair it with truncated importance sampling).
//
// A sync's requests are retried (429 / 5xx / timeouts / resets, http_transport.ts); when it still
// fails it throws a WeightSyncError and blocks the engine, which then refuses every rollout with
// that error until a later sync succeeds: a trainer never trains on against unknown weights.
//
// vLLM's routes were read in vllm-project/vllm (vllm/entrypoints/serve/dev/rpc/api_router.py:
// collective_rpc takes {method, args?, kwargs?, timeout?} and answers {"results": [...]} or an
// empty 200; reload_weights re-reads the weights from the served model path, as vLLM's
// examples/offline_inference/skip_loading_weights_in_engine_init.py calls it); docs/architecture.md
// records the commits.

import { EngineResponseError, WeightSyncError } from '../core/errors';
import { encodeHuggingFace, saveHuggingFace, type HuggingFaceTokenizerSource } from '../io/huggingface';
import type { GPT } from '../nn/gpt';
import type { HttpTransport } from './http_transport';
import type { OpenAICompatibleEngine } from './openai_compatible';

/** A way to bring the server's weights to the policy's after an update. */
export interface WeightSync {
  /** Called after optimiser update `updateIndex` (from 1); resolves once the server serves these weights. */
  afterUpdate(policy: GPT, updateIndex: number, signal?: AbortSignal): Promise<void>;
  /** Updates since the server's weights were last known to equal the policy's (0 after a sync). */
  readonly staleness: number;
}

/** What every server-side sync shares: the engine it guards and its transport. */
abstract class ServerWeightSync implements WeightSync {
  staleness = 0;
  /** The update index of the last sync that succeeded (0: none yet). */
  lastSyncedUpdate = 0;

  constructor(readonly engine: OpenAICompatibleEngine) {}

  protected get transport(): HttpTransport {
    return this.engine.transport;
  }

  async afterUpdate(policy: GPT, updateIndex: number, signal?: AbortSignal): Promise<void> {
    this.staleness++;
    try {
      await this.push(policy, signal);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      const failure = new WeightSyncError(`${this.constructor.name}: update ${updateIndex} did not reach the server (${(error as Error).message}); the engine serves no rollout until a sync succeeds`, updateIndex, { cause: error });
      this.engine.blockUntilSynced(failure);
      throw failure;
    }
    this.staleness = 0;
    this.lastSyncedUpdate = updateIndex;
    this.engine.unblock();
  }

  protected abstract push(policy: GPT, signal?: AbortSignal): Promise<void>;
}

/** Pushes the weights to NovaRL's own server (`novarl serve`) in a request body. */
export class NovaRLServerWeightSync extends ServerWeightSync {
  /** The server's weights_version after the last successful sync. */
  serverVersion?: number;

  protected async push(policy: GPT, signal?: AbortSignal): Promise<void> {
    const bytes = encodeHuggingFace(policy)['model.safetensors']!;
    const before = await this.healthVersion(signal);
    const response = await this.transport.send('/novarl/update_weights', { method: 'POST', body: bytes, contentType: 'application/octet-stream', signal });
    const version = readVersion(response.text, 'weights_version');
    // a retried POST whose first answer was lost may have been applied twice: still our weights
    if (version <= before) throw new EngineResponseError(`the server answered version ${version}, not above ${before} before the update`, 'weights_version');
    const after = await this.healthVersion(signal);
    if (after !== version) throw new EngineResponseError(`GET /health reports version ${after}, the update answered ${version}: another writer updated the server`, 'weights_version');
    this.serverVersion = version;
  }

  private async healthVersion(signal?: AbortSignal): Promise<number> {
    const response = await this.transport.send('/health', { method: 'GET', signal });
    return readVersion(response.text, 'weights_version');
  }
}

export interface VllmReloadWeightSyncOptions {
  /** The directory vLLM serves (`vllm serve <directory>`), readable by the server. */
  directory: string;
  /** Written beside the weights so the directory stays a complete model (optional). */
  tokenizer?: HuggingFaceTokenizerSource;
  /** Also POST /reset_prefix_cache after the reload (default true). */
  resetPrefixCache?: boolean;
  /** Replaces the disk write (tests, or a file system other than node:fs). Default saveHuggingFace. */
  save?: (directory: string, policy: GPT) => Promise<void>;
}

/**
 * Writes the policy as a Hugging Face directory where vLLM loaded its model from, then calls
 * vLLM's dev-mode reload. vLLM must run with VLLM_SERVER_DEV_MODE=1 (the dev routes are not
 * mounted otherwise) and serve exactly `directory`.
 */
export class VllmReloadWeightSync extends ServerWeightSync {
  constructor(
    engine: OpenAICompatibleEngine,
    readonly options: VllmReloadWeightSyncOptions,
  ) {
    super(engine);
  }

  protected async push(policy: GPT, signal?: AbortSignal): Promise<void> {
    const save = this.options.save ?? ((dir: string, model: GPT) => saveHuggingFace(dir, model, { tokenizer: this.options.tokenizer }));
    await save(this.options.directory, policy);
    signal?.throwIfAborted();
    await this.transport.send('/collective_rpc', { method: 'POST', body: JSON.stringify({ method: 'reload_weights' }), contentType: 'application/json', signal });
    if (this.options.resetPrefixCache ?? true) await this.transport.send('/reset_prefix_cache', { method: 'POST', signal });
  }
}

/** Sends nothing: the server keeps its weights and `staleness` counts the updates since. */
export class NoWeightSync implements WeightSync {
  staleness = 0;

  async afterUpdate(): Promise<void> {
    this.staleness++;
  }
}

function readVersion(text: string, field: string): number {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new EngineResponseError(`not valid JSON: ${JSON.stringify(text.slice(0, 80))}`, 'body');
  }
  const version = (body as Record<string, unknown> | null)?.[field];
  if (!Number.isSafeInteger(version) || (version as number) < 0) throw new EngineResponseError(`expected a non-negative integer, got ${JSON.stringify(version)}`, field);
  return version as number;
}
