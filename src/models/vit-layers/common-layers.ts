/** Small layers shared by the transformer models: LayerNorm, token pooling, input normalisation, patch tokens. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ParamLayer, initializers, single, type LayerArgs } from './base.js';
import { layerNorm, mm } from './ops.js';

export interface LayerNormArgs extends LayerArgs {
  dim: number;
  eps: number;
}

/** PyTorch-style LayerNorm over the last axis; weights `gamma` / `beta` (HF `weight` / `bias`). */
export class LayerNorm extends ParamLayer {
  static className = 'PlumageLayerNorm';
  readonly dim: number;
  readonly eps: number;

  constructor(args: LayerNormArgs) {
    super(args);
    this.dim = args.dim;
    this.eps = args.eps;
  }

  override build(): void {
    this.param('gamma', [this.dim], initializers.ones());
    this.param('beta', [this.dim], initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => layerNorm(single(inputs), this.w('gamma'), this.w('beta'), this.eps));
  }

  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return s as tfl.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dim: this.dim, eps: this.eps };
  }
}

export type TokenPoolMode = 'mean' | 'mean-skip-first' | 'first';

/** [B, N, C] -> [B, C]: mean over all tokens, mean over tokens 1.. (BEiT patch tokens), or token 0. */
export class TokenPool extends tfl.layers.Layer {
  static className = 'PlumageTokenPool';
  readonly mode: TokenPoolMode;

  constructor(args: LayerArgs & { mode: TokenPoolMode }) {
    super(args);
    this.mode = args.mode;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const [b, n, c] = x.shape as number[];
      if (this.mode === 'first') return tf.reshape(tf.slice(x, [0, 0, 0], [b!, 1, c!]), [b!, c!]);
      if (this.mode === 'mean-skip-first') return tf.mean(tf.slice(x, [0, 1, 0], [b!, n! - 1, c!]), 1);
      return tf.mean(x, 1);
    });
  }

  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = s as tfl.Shape;
    return [shape[0]!, shape[2]!];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode };
  }
}

export type PixelNormalization = 'imagenet' | 'half' | 'none';

const NORMS: Record<Exclude<PixelNormalization, 'none'>, { mean: number[]; std: number[] }> = {
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  half: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
};

/** NHWC pixels in [0, 1] -> (x - mean) / std, as the HF image processor does. No weights. */
export class PixelNormalize extends tfl.layers.Layer {
  static className = 'PlumagePixelNormalize';
  readonly mode: PixelNormalization;

  constructor(args: LayerArgs & { mode: PixelNormalization }) {
    super(args);
    this.mode = args.mode;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      if (this.mode === 'none') return tf.clone(x);
      const { mean, std } = NORMS[this.mode];
      return tf.div(tf.sub(x, tf.tensor1d(mean)), tf.tensor1d(std));
    });
  }

  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return s as tfl.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode };
  }
}

/** NHWC feature map [B, H, W, C] -> tokens [B, H*W, C] (same order as PyTorch's flatten(2).transpose(1, 2) of NCHW). */
export class ToTokens extends tfl.layers.Layer {
  static className = 'PlumageToTokens';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = single(inputs);
    const [b, h, w, c] = x.shape as number[];
    return tf.reshape(x, [b!, h! * w!, c!]);
  }

  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = s as tfl.Shape;
    return [shape[0]!, shape[1]! * shape[2]!, shape[3]!];
  }
}

for (const cls of [LayerNorm, TokenPool, PixelNormalize, ToTokens]) tf.serialization.registerClass(cls);

export interface PatchEmbedArgs extends LayerArgs {
  patchSize: number;
  inChannels: number;
  dim: number;
}

/**
 * Non-overlapping patch projection (a Conv2d with kernel = stride = patch), computed as patchify + one matMul so that
 * its gradient is a plain matMul on every backend. NHWC [B, H, W, Cin] -> tokens [B, (H/p)*(W/p), dim], row-major.
 * Weights `kernel` (HWIO [p, p, Cin, dim], HF OIHW by the loader's rule) and `bias`.
 */
export class PatchEmbed extends ParamLayer {
  static className = 'PlumagePatchEmbed';
  readonly cfg: Required<Omit<PatchEmbedArgs, keyof LayerArgs>>;

  constructor(args: PatchEmbedArgs) {
    super(args);
    this.cfg = { patchSize: args.patchSize, inChannels: args.inChannels, dim: args.dim };
  }

  override build(): void {
    const { patchSize: p, inChannels, dim } = this.cfg;
    this.param('kernel', [p, p, inChannels, dim], initializers.trunc02());
    this.param('bias', [dim], initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const { patchSize: p, inChannels: c, dim } = this.cfg;
      const [b, h, w] = x.shape as number[];
      const gh = h! / p;
      const gw = w! / p;
      // [B*gh, p, gw, p*C] -> [B*gh, gw, p, p*C] -> [B*gh*gw, p*p*C] with (ph, pw, c) order = HWIO row order.
      const t = tf.transpose(tf.reshape(x, [b! * gh, p, gw, p * c]), [0, 2, 1, 3]);
      const patches = tf.reshape(t, [b! * gh * gw, p * p * c]);
      const y = tf.add(mm(patches, tf.reshape(this.w('kernel'), [p * p * c, dim])), this.w('bias'));
      return tf.reshape(y, [b!, gh * gw, dim]);
    });
  }

  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = s as tfl.Shape;
    const p = this.cfg.patchSize;
    return [shape[0]!, (shape[1]! / p) * (shape[2]! / p), this.cfg.dim];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...(this.cfg as unknown as tf.serialization.ConfigDict) };
  }
}

tf.serialization.registerClass(PatchEmbed);
