/**
 * BEiT (Bao et al. 2021), numerically matching Hugging Face `BeitForImageClassification`.
 * Configured by the HF config.json keys; layer and weight names follow the HF state_dict so that a `model.safetensors`
 * loads by name (src/weights/safetensors-hf.ts).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { BeitBlock, BeitRelativePositionBias, BeitTokens } from './vit-layers/beit-layers.js';
import { LayerNorm, PatchEmbed, PixelNormalize, TokenPool } from './vit-layers/common-layers.js';
import { classifierLayer, dropPathSchedule, type VitBuildOptions } from './vit-layers/head.js';

/** The HF BeitConfig fields the model uses (snake_case as in config.json). */
export interface BeitConfig {
  image_size: number;
  patch_size: number;
  num_channels: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  layer_norm_eps: number;
  use_mask_token: boolean;
  use_absolute_position_embeddings: boolean;
  use_relative_position_bias: boolean;
  use_shared_relative_position_bias: boolean;
  layer_scale_init_value: number;
  drop_path_rate: number;
  use_mean_pooling: boolean;
  num_labels: number;
}

/** Reads an HF config.json object (full or diff form) with HF's defaults. */
export function beitConfigFromHf(json: Record<string, unknown>): BeitConfig {
  const id2label = json['id2label'] as Record<string, string> | undefined;
  const num = (k: string, d: number) => (typeof json[k] === 'number' ? (json[k] as number) : d);
  const bool = (k: string, d: boolean) => (typeof json[k] === 'boolean' ? (json[k] as boolean) : d);
  return {
    image_size: num('image_size', 224),
    patch_size: num('patch_size', 16),
    num_channels: num('num_channels', 3),
    hidden_size: num('hidden_size', 768),
    num_hidden_layers: num('num_hidden_layers', 12),
    num_attention_heads: num('num_attention_heads', 12),
    intermediate_size: num('intermediate_size', 3072),
    hidden_act: (json['hidden_act'] as string | undefined) ?? 'gelu',
    layer_norm_eps: num('layer_norm_eps', 1e-12),
    use_mask_token: bool('use_mask_token', false),
    use_absolute_position_embeddings: bool('use_absolute_position_embeddings', false),
    use_relative_position_bias: bool('use_relative_position_bias', false),
    use_shared_relative_position_bias: bool('use_shared_relative_position_bias', false),
    layer_scale_init_value: num('layer_scale_init_value', 0.1),
    drop_path_rate: num('drop_path_rate', 0.1),
    use_mean_pooling: bool('use_mean_pooling', true),
    num_labels: id2label ? Object.keys(id2label).length : num('num_labels', 2),
  };
}

export const beitPresets = {
  /** From-scratch BEiT for 64px inputs on a CPU: patch 8 (8x8 = 64 tokens + CLS), width 192, depth 6. */
  'beit-small-p8': {
    config: {
      image_size: 64, patch_size: 8, num_channels: 3, hidden_size: 192, num_hidden_layers: 6, num_attention_heads: 3, intermediate_size: 768,
      hidden_act: 'gelu', layer_norm_eps: 1e-12, use_mask_token: false, use_absolute_position_embeddings: false, use_relative_position_bias: true,
      use_shared_relative_position_bias: false, layer_scale_init_value: 0.1, drop_path_rate: 0.1, use_mean_pooling: true, num_labels: 25,
    } satisfies BeitConfig,
    normalize: 'half' as const,
  },
  /** microsoft/beit-base-patch16-224-pt22k-ft22k (ImageNet-22k). Weights need a network download. */
  'beit-base-p16-224-22k': {
    config: {
      image_size: 224, patch_size: 16, num_channels: 3, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
      hidden_act: 'gelu', layer_norm_eps: 1e-12, use_mask_token: false, use_absolute_position_embeddings: false, use_relative_position_bias: true,
      use_shared_relative_position_bias: false, layer_scale_init_value: 0.1, drop_path_rate: 0.1, use_mean_pooling: true, num_labels: 21841,
    } satisfies BeitConfig,
    normalize: 'half' as const,
    hub: {
      repo: 'microsoft/beit-base-patch16-224-pt22k-ft22k',
      configUrl: 'https://huggingface.co/microsoft/beit-base-patch16-224-pt22k-ft22k/resolve/main/config.json',
      weightsUrl: 'https://huggingface.co/microsoft/beit-base-patch16-224-pt22k-ft22k/resolve/main/model.safetensors',
    },
  },
};

/**
 * Builds BEiT as a tfjs LayersModel taking NHWC float input.
 * Graph: [normalise] -> patch conv -> tokens -> [CLS] (+ absolute positions) -> BeitBlock x L (per-layer and/or
 * shared relative position bias) -> layernorm (CLS pooling) | mean of patch tokens + pooler.layernorm -> classifier.
 */
export function buildBeit(config: BeitConfig, opts: VitBuildOptions = {}): tfl.LayersModel {
  const size = opts.inputSize ?? config.image_size;
  if (size % config.patch_size !== 0) throw new Error(`beit: input size ${size} is not a multiple of patch_size ${config.patch_size}`);
  const g = size / config.patch_size;
  const grid: [number, number] = [g, g];
  const C = config.hidden_size;
  const input = tfl.input({ shape: [size, size, config.num_channels], name: 'pixel_values' });
  let x: tfl.SymbolicTensor = input;
  if ((opts.normalize ?? 'none') !== 'none') x = new PixelNormalize({ mode: opts.normalize!, name: 'pixel_normalize' }).apply(x) as tfl.SymbolicTensor;
  x = new PatchEmbed({
    patchSize: config.patch_size, inChannels: config.num_channels, dim: C, name: 'beit.embeddings.patch_embeddings.projection',
  }).apply(x) as tfl.SymbolicTensor;
  x = new BeitTokens({
    dim: C, numPatches: g * g, usePositionEmbeddings: config.use_absolute_position_embeddings, useMaskToken: config.use_mask_token,
    name: 'beit.embeddings',
  }).apply(x) as tfl.SymbolicTensor;
  const hidden: tfl.SymbolicTensor[] = [x];

  const shared = config.use_shared_relative_position_bias
    ? (new BeitRelativePositionBias({ grid, numHeads: config.num_attention_heads, name: 'beit.encoder.relative_position_bias' }).apply(x) as tfl.SymbolicTensor)
    : null;
  const dpr = dropPathSchedule(opts.dropPathRate ?? config.drop_path_rate, config.num_hidden_layers);
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const block = new BeitBlock({
      name: `beit.encoder.layer.${i}`, dim: C, numHeads: config.num_attention_heads, intermediateSize: config.intermediate_size, grid,
      relativePositionBias: config.use_relative_position_bias, layerScaleInit: config.layer_scale_init_value,
      layerNormEps: config.layer_norm_eps, hiddenAct: config.hidden_act, dropPath: dpr[i]!,
    });
    x = block.apply(shared ? [x, shared] : x) as tfl.SymbolicTensor;
    hidden.push(x);
  }

  let last = x;
  let pooled: tfl.SymbolicTensor;
  if (config.use_mean_pooling) {
    // beit.layernorm is the identity; the pooler normalises the mean of the patch tokens.
    last = tfl.layers.activation({ activation: 'linear', name: 'beit.layernorm' }).apply(x) as tfl.SymbolicTensor;
    pooled = new TokenPool({ mode: 'mean-skip-first', name: 'beit.pooler.mean' }).apply(last) as tfl.SymbolicTensor;
    pooled = new LayerNorm({ dim: C, eps: config.layer_norm_eps, name: 'beit.pooler.layernorm' }).apply(pooled) as tfl.SymbolicTensor;
  } else {
    last = new LayerNorm({ dim: C, eps: config.layer_norm_eps, name: 'beit.layernorm' }).apply(x) as tfl.SymbolicTensor;
    pooled = new TokenPool({ mode: 'first', name: 'beit.pooler.first' }).apply(last) as tfl.SymbolicTensor;
  }
  const features = (opts.pooling ?? 'pooled') === 'first-token' && config.use_mean_pooling
    ? (new TokenPool({ mode: 'first', name: 'beit.first_token' }).apply(last) as tfl.SymbolicTensor)
    : pooled;
  const logits = classifierLayer(opts.numClasses ?? config.num_labels).apply(features) as tfl.SymbolicTensor;
  const outputs = opts.outputs === 'all' ? [logits, pooled, last, ...hidden] : logits;
  return tfl.model({ inputs: input, outputs, name: opts.name ?? 'beit' });
}
