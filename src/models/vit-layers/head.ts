/** Options shared by the transformer builders, and head replacement. */
import * as tfl from '@tensorflow/tfjs-layers';
import { initializers } from './base.js';
import type { PixelNormalization } from './common-layers.js';

export interface VitBuildOptions {
  /** Overrides the config's num_labels. */
  numClasses?: number;
  /** Overrides the config's image_size (square). */
  inputSize?: number;
  /**
   * First-layer pixel normalisation for NHWC input in [0, 1]: 'imagenet' (mean/std of ImageNet, the SwinV2 processor),
   * 'half' (0.5/0.5, the BEiT processor) or 'none' (input already normalised, like HF pixel_values).
   */
  normalize?: PixelNormalization;
  /** 'pooled' (default): the model's own pooled output. 'first-token': last_hidden_state[:, 0]. */
  pooling?: 'pooled' | 'first-token';
  /**
   * 'logits' (default): one output. 'all': [logits, pooler_output, last_hidden_state, hidden_states.0, ...], the
   * HF output tensors (hidden states in [B, tokens, C]).
   */
  outputs?: 'logits' | 'all';
  /** Overrides config drop_path_rate (stochastic depth, training only). */
  dropPathRate?: number;
  /** Model name. */
  name?: string;
}

/** Dense classifier named like HF's `classifier` (Linear(C, num_labels)). */
export function classifierLayer(numClasses: number): tfl.layers.Layer {
  return tfl.layers.dense({ units: numClasses, name: 'classifier', kernelInitializer: initializers.trunc02(), biasInitializer: 'zeros' });
}

/**
 * Returns a model with a fresh `classifier` for `numClasses` that shares every other layer (and so every backbone
 * weight) with `model`. Works for any single-output model whose last layer is named `classifier`.
 */
export function replaceClassifier(model: tfl.LayersModel, numClasses: number): tfl.LayersModel {
  const head = model.getLayer('classifier');
  const features = head.input as tfl.SymbolicTensor;
  const logits = classifierLayer(numClasses).apply(features) as tfl.SymbolicTensor;
  return tfl.model({ inputs: model.inputs, outputs: logits, name: model.name });
}

/** HF-style linearly increasing stochastic depth rates (torch.linspace(0, rate, n)). */
export function dropPathSchedule(rate: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (n > 1 ? (rate * i) / (n - 1) : 0));
}
