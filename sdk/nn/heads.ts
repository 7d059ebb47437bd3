// Policy and value heads, and the actor-critic that PPO trains: a categorical policy over
// discrete actions and a scalar value, on separate trunks (CleanRL's default) or one shared trunk.

import type { Core } from '../core/core';
import { Module } from '../core/module';
import type { Tensor } from '../core/tensor';
import type { PolicyWithValue } from '../interfaces/policy';
import { Linear } from './linear';
import { MLP, activate, type Activation } from './mlp';

/** Logits over `actionCount` actions from features. */
export class CategoricalPolicyHead extends Module {
  readonly linear: Linear;
  constructor(features: number, actionCount: number, options: { init?: 'default' | 'orthogonal'; core?: Core } = {}) {
    super();
    // CleanRL: orthogonal with gain 0.01, so the initial policy is near uniform
    this.linear = new Linear(features, actionCount, { init: options.init ?? 'orthogonal', gain: 0.01, core: options.core });
  }
  // h: (B, features) -> logits (B, A)
  forward(h: Tensor): Tensor {
    return this.linear.forward(h);
  }
}

/** A scalar value per row from features. */
export class ValueHead extends Module {
  readonly linear: Linear;
  constructor(features: number, options: { init?: 'default' | 'orthogonal'; core?: Core } = {}) {
    super();
    this.linear = new Linear(features, 1, { init: options.init ?? 'orthogonal', gain: 1, core: options.core });
  }
  // h: (B, features) -> values (B)
  forward(h: Tensor): Tensor {
    const v = this.linear.forward(h);
    return v.reshape([v.shape[0]!]);
  }
}

export interface ActorCriticOptions {
  observationSize: number;
  actionCount: number;
  /** Hidden layer widths of each trunk (default [64, 64]). */
  hidden?: number[];
  activation?: Activation;
  /** One trunk feeding both heads (default false: separate actor and critic, as CleanRL). */
  shareTrunk?: boolean;
  init?: 'default' | 'orthogonal';
  core?: Core;
}

/** Log-probability of each taken action: logits (B, A), actions (B) -> (B). */
export function logProbOf(logits: Tensor, actions: Tensor): Tensor {
  return logits.logSoftmax().gather(actions);
}

/** The actor-critic PPO trains; a PolicyWithValue (logits and values for a batch of observations). */
export class ActorCritic extends Module implements PolicyWithValue {
  readonly actorTrunk: MLP;
  readonly criticTrunk?: MLP;
  readonly policyHead: CategoricalPolicyHead;
  readonly valueHead: ValueHead;
  readonly activation: Activation;

  constructor(readonly options: ActorCriticOptions) {
    super();
    const hidden = options.hidden ?? [64, 64];
    const init = options.init ?? 'orthogonal';
    this.activation = options.activation ?? 'tanh';
    const trunk = () =>
      new MLP([options.observationSize, ...hidden], { activation: this.activation, init, outputGain: Math.SQRT2, core: options.core });
    this.actorTrunk = trunk();
    if (!options.shareTrunk) this.criticTrunk = trunk();
    const features = hidden[hidden.length - 1] ?? options.observationSize;
    this.policyHead = new CategoricalPolicyHead(features, options.actionCount, { init, core: options.core });
    this.valueHead = new ValueHead(features, { init, core: options.core });
  }

  /** A new ActorCritic with the same architecture and a copy of these weights. */
  clone(): ActorCritic {
    const copy = new ActorCritic(this.options);
    this.copyInto(copy);
    return copy;
  }

  private features(trunk: MLP, obs: Tensor): Tensor {
    return trunk.layers.length ? activate(trunk.forward(obs), this.activation) : obs;
  }

  // obs: (B, obsSize) -> logits (B, A)
  logits(obs: Tensor): Tensor {
    return this.policyHead.forward(this.features(this.actorTrunk, obs));
  }

  // obs: (B, obsSize) -> values (B)
  values(obs: Tensor): Tensor {
    return this.valueHead.forward(this.features(this.criticTrunk ?? this.actorTrunk, obs));
  }

  forward(obs: Tensor): { logits: Tensor; values: Tensor } {
    if (!this.criticTrunk) {
      const h = this.features(this.actorTrunk, obs);
      return { logits: this.policyHead.forward(h), values: this.valueHead.forward(h) };
    }
    return { logits: this.logits(obs), values: this.values(obs) };
  }
}
