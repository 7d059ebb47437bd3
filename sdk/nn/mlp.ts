// Multi-layer perceptron: Linear layers with an activation between them (none after the last).

import type { Core } from '../core/core';
import { Module } from '../core/module';
import type { Tensor } from '../core/tensor';
import { Linear } from './linear';

export type Activation = 'tanh' | 'relu' | 'gelu';

export interface MLPOptions {
  activation?: Activation;
  /** 'orthogonal' (CleanRL) or 'default' (PyTorch) init for every layer. */
  init?: 'default' | 'orthogonal';
  /** Orthogonal gain of the hidden layers (default sqrt(2)). */
  hiddenGain?: number;
  /** Orthogonal gain of the output layer (CleanRL: 0.01 for a policy, 1 for a value). */
  outputGain?: number;
  core?: Core;
}

export class MLP extends Module {
  readonly layers: Linear[];
  readonly activation: Activation;

  /** sizes: [in, hidden..., out] */
  constructor(readonly sizes: readonly number[], options: MLPOptions = {}) {
    super();
    this.activation = options.activation ?? 'tanh';
    this.layers = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      const last = i + 2 === sizes.length;
      this.layers.push(
        new Linear(sizes[i]!, sizes[i + 1]!, {
          init: options.init,
          gain: last ? (options.outputGain ?? 1) : (options.hiddenGain ?? Math.SQRT2),
          core: options.core,
        }),
      );
    }
  }

  // x: (B, in) -> (B, out)
  forward(x: Tensor): Tensor {
    let h = x;
    this.layers.forEach((layer, i) => {
      h = layer.forward(h);
      if (i + 1 < this.layers.length) h = activate(h, this.activation);
    });
    return h;
  }
}

export function activate(x: Tensor, activation: Activation): Tensor {
  switch (activation) {
    case 'tanh':
      return x.tanh();
    case 'relu':
      return x.relu();
    case 'gelu':
      return x.gelu();
  }
}
