// Linear layer, PyTorch's layout: weight (out, in), y = x W^T + b. Keeping PyTorch's layout
// means state dicts (and safetensors checkpoints) map one to one onto torch.nn.Linear.

import type { Core } from '../core/core';
import { defaultCore } from '../core/core';
import { ShapeError } from '../core/errors';
import { Module, Parameter } from '../core/module';
import { orthogonal_, uniform_ } from '../core/random';
import type { Tensor } from '../core/tensor';

export interface LinearOptions {
  bias?: boolean;
  /**
   * 'default': PyTorch's nn.Linear init, U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
   * 'orthogonal': CleanRL's layer_init, orthogonal weight with `gain`, zero bias.
   */
  init?: 'default' | 'orthogonal';
  /** Gain for orthogonal init (CleanRL: sqrt(2) hidden, 0.01 policy head, 1 value head). */
  gain?: number;
  core?: Core;
}

export class Linear extends Module {
  readonly weight: Parameter; // (out, in)
  readonly bias?: Parameter; // (out)

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    const core = options.core ?? defaultCore();
    this.weight = Parameter.create([outFeatures, inFeatures], core);
    if (options.bias ?? true) this.bias = Parameter.create([outFeatures], core);
    if ((options.init ?? 'default') === 'orthogonal') {
      orthogonal_(this.weight, options.gain ?? Math.SQRT2);
    } else {
      const bound = 1 / Math.sqrt(inFeatures);
      uniform_(this.weight, -bound, bound);
      if (this.bias) uniform_(this.bias, -bound, bound);
    }
  }

  // x: (..., in) -> (..., out)
  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ShapeError('Linear', [x.shape, this.weight.shape], `expected ${this.inFeatures} input features`);
    }
    const flat = x.rank === 2 ? x : x.reshape([-1, this.inFeatures]);
    let y = flat.matmul(this.weight, { transB: true });
    if (this.bias) y = y.add(this.bias);
    return x.rank === 2 ? y : y.reshape([...x.shape.slice(0, -1), this.outFeatures]);
  }
}
