/**
 * SwinV2 (Liu et al. 2022), numerically matching Hugging Face `Swinv2ForImageClassification`.
 * Configured by the HF config.json keys; layer and weight names follow the HF state_dict so that a `model.safetensors`
 * loads by name (src/weights/safetensors-hf.ts).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { LayerNorm, PatchEmbed, PixelNormalize, TokenPool } from './vit-layers/common-layers.js';
import { classifierLayer, dropPathSchedule, type VitBuildOptions } from './vit-layers/head.js';
import { Swinv2Block, Swinv2PatchMerging } from './vit-layers/swinv2-layers.js';

/** The HF Swinv2Config fields the model uses (snake_case as in config.json). */
export interface Swinv2Config {
  image_size: number;
  patch_size: number;
  num_channels: number;
  embed_dim: number;
  depths: number[];
  num_heads: number[];
  window_size: number;
  pretrained_window_sizes: number[];
  mlp_ratio: number;
  qkv_bias: boolean;
  hidden_act: string;
  layer_norm_eps: number;
  drop_path_rate: number;
  use_absolute_embeddings: boolean;
  num_labels: number;
}

/** Reads an HF config.json object (full or diff form) with HF's defaults. */
export function swinv2ConfigFromHf(json: Record<string, unknown>): Swinv2Config {
  const depths = (json['depths'] as number[] | undefined) ?? [2, 2, 6, 2];
  const id2label = json['id2label'] as Record<string, string> | undefined;
  const num = (k: string, d: number) => (typeof json[k] === 'number' ? (json[k] as number) : d);
  return {
    image_size: num('image_size', 224),
    patch_size: num('patch_size', 4),
    num_channels: num('num_channels', 3),
    embed_dim: num('embed_dim', 96),
    depths,
    num_heads: (json['num_heads'] as number[] | undefined) ?? [3, 6, 12, 24],
    window_size: num('window_size', 7),
    pretrained_window_sizes: (json['pretrained_window_sizes'] as number[] | undefined) ?? depths.map(() => 0),
    mlp_ratio: num('mlp_ratio', 4),
    qkv_bias: (json['qkv_bias'] as boolean | undefined) ?? true,
    hidden_act: (json['hidden_act'] as string | undefined) ?? 'gelu',
    layer_norm_eps: num('layer_norm_eps', 1e-5),
    drop_path_rate: num('drop_path_rate', 0.1),
    use_absolute_embeddings: (json['use_absolute_embeddings'] as boolean | undefined) ?? false,
    num_labels: id2label ? Object.keys(id2label).length : num('num_labels', 2),
  };
}

export const swinv2Presets = {
  /** From-scratch SwinV2 for 64px inputs on a CPU: patch 2 (32x32 tokens), window 8, three stages. */
  'swinv2-small-p2w8': {
    config: {
      image_size: 64, patch_size: 2, num_channels: 3, embed_dim: 48, depths: [2, 2, 2], num_heads: [3, 6, 12], window_size: 8,
      pretrained_window_sizes: [0, 0, 0], mlp_ratio: 4, qkv_bias: true, hidden_act: 'gelu', layer_norm_eps: 1e-5, drop_path_rate: 0.1,
      use_absolute_embeddings: false, num_labels: 25,
    } satisfies Swinv2Config,
    normalize: 'imagenet' as const,
  },
  /** microsoft/swinv2-base-patch4-window16-256 (ImageNet-1k). Weights need a network download. */
  'swinv2-base-w16-256': {
    config: {
      image_size: 256, patch_size: 4, num_channels: 3, embed_dim: 128, depths: [2, 2, 18, 2], num_heads: [4, 8, 16, 32], window_size: 16,
      pretrained_window_sizes: [0, 0, 0, 0], mlp_ratio: 4, qkv_bias: true, hidden_act: 'gelu', layer_norm_eps: 1e-5, drop_path_rate: 0.1,
      use_absolute_embeddings: false, num_labels: 1000,
    } satisfies Swinv2Config,
    normalize: 'imagenet' as const,
    hub: {
      repo: 'microsoft/swinv2-base-patch4-window16-256',
      configUrl: 'https://huggingface.co/microsoft/swinv2-base-patch4-window16-256/resolve/main/config.json',
      weightsUrl: 'https://huggingface.co/microsoft/swinv2-base-patch4-window16-256/resolve/main/model.safetensors',
    },
  },
};

/**
 * Builds SwinV2 as a tfjs LayersModel taking NHWC float input.
 * Graph: [normalise] -> patch conv -> tokens -> embeddings.norm -> stages of Swinv2Block (+ PatchMerging) ->
 * layernorm -> mean pool (or first token) -> classifier.
 */
export function buildSwinv2(config: Swinv2Config, opts: VitBuildOptions = {}): tfl.LayersModel {
  if (config.use_absolute_embeddings) throw new Error('swinv2: use_absolute_embeddings=true is not supported');
  const size = opts.inputSize ?? config.image_size;
  if (size % config.patch_size !== 0) throw new Error(`swinv2: input size ${size} is not a multiple of patch_size ${config.patch_size}`);
  const input = tfl.input({ shape: [size, size, config.num_channels], name: 'pixel_values' });
  let x: tfl.SymbolicTensor = input;
  if ((opts.normalize ?? 'none') !== 'none') x = new PixelNormalize({ mode: opts.normalize!, name: 'pixel_normalize' }).apply(x) as tfl.SymbolicTensor;
  x = new PatchEmbed({
    patchSize: config.patch_size, inChannels: config.num_channels, dim: config.embed_dim, name: 'swinv2.embeddings.patch_embeddings.projection',
  }).apply(x) as tfl.SymbolicTensor;
  x = new LayerNorm({ dim: config.embed_dim, eps: 1e-5, name: 'swinv2.embeddings.norm' }).apply(x) as tfl.SymbolicTensor;
  const hidden: tfl.SymbolicTensor[] = [x];

  const grid = size / config.patch_size;
  const dpr = dropPathSchedule(opts.dropPathRate ?? config.drop_path_rate, config.depths.reduce((a, b) => a + b, 0));
  let res = grid;
  let dim = config.embed_dim;
  let blockIdx = 0;
  config.depths.forEach((depth, s) => {
    const configRes = Math.floor(grid / 2 ** s);
    for (let b = 0; b < depth; b++) {
      x = new Swinv2Block({
        name: `swinv2.encoder.layers.${s}.blocks.${b}`,
        dim, numHeads: config.num_heads[s]!, resolution: [res, res], configResolution: [configRes, configRes],
        windowSize: config.window_size, shiftSize: b % 2 === 0 ? 0 : Math.floor(config.window_size / 2),
        pretrainedWindowSize: config.pretrained_window_sizes[s] ?? 0, mlpRatio: config.mlp_ratio, qkvBias: config.qkv_bias,
        layerNormEps: config.layer_norm_eps, hiddenAct: config.hidden_act, dropPath: dpr[blockIdx++]!,
      }).apply(x) as tfl.SymbolicTensor;
    }
    if (s < config.depths.length - 1) {
      x = new Swinv2PatchMerging({ name: `swinv2.encoder.layers.${s}.downsample`, dim, resolution: [res, res] }).apply(x) as tfl.SymbolicTensor;
      res = Math.ceil(res / 2);
      dim *= 2;
    }
    hidden.push(x);
  });

  const last = new LayerNorm({ dim, eps: config.layer_norm_eps, name: 'swinv2.layernorm' }).apply(x) as tfl.SymbolicTensor;
  const mode = (opts.pooling ?? 'pooled') === 'first-token' ? 'first' : 'mean';
  const pooled = new TokenPool({ mode, name: 'swinv2.pooler' }).apply(last) as tfl.SymbolicTensor;
  const logits = classifierLayer(opts.numClasses ?? config.num_labels).apply(pooled) as tfl.SymbolicTensor;
  const outputs = opts.outputs === 'all' ? [logits, pooled, last, ...hidden] : logits;
  return tfl.model({ inputs: input, outputs, name: opts.name ?? 'swinv2' });
}
