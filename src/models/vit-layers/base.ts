/**
 * Base for plumage's transformer layers: weights are declared with their Hugging Face sub-module path as name
 * (`attention.self.query.kernel`), so that `<layer name>/<weight name>` maps to the HF state_dict key by the generic
 * rule in src/weights/safetensors-hf.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import type { Initializer } from '@tensorflow/tfjs-layers/dist/initializers.js';

export type { LayerArgs };
interface LayerVariable {
  read(): tf.Tensor;
}

export const initializers = {
  /** timm/HF default for Linear weights and tokens: truncated normal, std 0.02. */
  trunc02: () => tfl.initializers.truncatedNormal({ stddev: 0.02 }),
  zeros: () => tfl.initializers.zeros(),
  ones: () => tfl.initializers.ones(),
  constant: (value: number) => tfl.initializers.constant({ value }),
  /** PyTorch nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
  torchLinear: (fanIn: number) => tfl.initializers.randomUniform({ minval: -1 / Math.sqrt(fanIn), maxval: 1 / Math.sqrt(fanIn) }),
};

export abstract class ParamLayer extends tfl.layers.Layer {
  private readonly params = new Map<string, LayerVariable>();

  protected param(name: string, shape: number[], init: Initializer, trainable = true): void {
    this.params.set(name, this.addWeight(name, shape, 'float32', init, undefined, trainable) as unknown as LayerVariable);
  }

  protected has(name: string): boolean {
    return this.params.has(name);
  }

  /** Current value of a weight (inside call()). */
  protected w(name: string): tf.Tensor {
    const v = this.params.get(name);
    if (!v) throw new Error(`${this.name}: no weight '${name}'`);
    return v.read();
  }

  /** Optional weight: null when not declared. */
  protected wOpt(name: string): tf.Tensor | null {
    return this.params.has(name) ? this.w(name) : null;
  }

  /** Dense sub-module: `<prefix>.kernel` [in, out] and optional `<prefix>.bias` [out]. */
  protected dense(prefix: string, inDim: number, outDim: number, bias: boolean, init: Initializer = initializers.trunc02()): void {
    this.param(`${prefix}.kernel`, [inDim, outDim], init);
    if (bias) this.param(`${prefix}.bias`, [outDim], initializers.zeros());
  }

  /** LayerNorm sub-module: `<prefix>.gamma`, `<prefix>.beta`. */
  protected norm(prefix: string, dim: number): void {
    this.param(`${prefix}.gamma`, [dim], initializers.ones());
    this.param(`${prefix}.beta`, [dim], initializers.zeros());
  }
}

export function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

export function isTraining(kwargs: Record<string, unknown> | undefined): boolean {
  return kwargs?.['training'] === true;
}
