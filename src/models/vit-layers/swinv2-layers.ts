/**
 * SwinV2 building blocks (HF Swinv2Layer / Swinv2PatchMerging), as tfjs-layers custom layers.
 * Tokens are [B, H*W, C] in row-major (h, w) order.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ParamLayer, initializers, isTraining, single, type LayerArgs } from './base.js';
import {
  activation,
  dropPath,
  l2Normalize,
  layerNorm,
  linear,
  makeTableLookup,
  mm,
  roll,
  swinRelativePositionIndex,
  swinShiftMask,
  swinv2RelativeCoordsTable,
  windowPartition,
  windowReverse,
} from './ops.js';

export interface Swinv2BlockArgs extends LayerArgs {
  dim: number;
  numHeads: number;
  /** Token grid this block sees at run time, [H, W]. */
  resolution: [number, number];
  /** Stage resolution HF uses to fix window and shift at construction (grid // 2^stage); defaults to `resolution`. */
  configResolution?: [number, number];
  /** config.window_size. */
  windowSize: number;
  /** 0 for even blocks, window_size // 2 for odd ones (before the resolution adjustment). */
  shiftSize: number;
  /** config.pretrained_window_sizes[stage]; 0 = none. */
  pretrainedWindowSize: number;
  mlpRatio: number;
  qkvBias: boolean;
  layerNormEps: number;
  hiddenAct?: string;
  dropPath?: number;
  /** Hidden width of the continuous position bias MLP (512 in SwinV2). */
  cpbHidden?: number;
}

const LOGIT_SCALE_MAX = Math.log(1 / 0.01);

/**
 * One SwinV2 block: post-norm residuals around (shifted) window cosine attention with continuous relative position
 * bias, then the MLP. Weights use the HF sub-module names of `swinv2.encoder.layers.<s>.blocks.<b>`.
 */
export class Swinv2Block extends ParamLayer {
  static className = 'PlumageSwinv2Block';
  readonly cfg: Required<Omit<Swinv2BlockArgs, keyof LayerArgs>>;
  /** Effective window and shift after HF's resolution adjustment. */
  readonly window: number;
  readonly shift: number;
  private lookup: ReturnType<typeof makeTableLookup> | null = null;
  private coords: tf.Tensor | null = null;
  private mask: tf.Tensor | null = null;

  constructor(args: Swinv2BlockArgs) {
    super(args);
    this.cfg = {
      dim: args.dim,
      numHeads: args.numHeads,
      resolution: args.resolution,
      configResolution: args.configResolution ?? args.resolution,
      windowSize: args.windowSize,
      shiftSize: args.shiftSize,
      pretrainedWindowSize: args.pretrainedWindowSize,
      mlpRatio: args.mlpRatio,
      qkvBias: args.qkvBias,
      layerNormEps: args.layerNormEps,
      hiddenAct: args.hiddenAct ?? 'gelu',
      dropPath: args.dropPath ?? 0,
      cpbHidden: args.cpbHidden ?? 512,
    };
    // HF Swinv2Layer._compute_window_shift (square windows; HF keeps element 0).
    const r = this.cfg.configResolution[0];
    this.window = r <= this.cfg.windowSize ? r : this.cfg.windowSize;
    this.shift = r <= this.window ? 0 : this.cfg.shiftSize;
  }

  override build(): void {
    const { dim, numHeads, qkvBias, cpbHidden, mlpRatio } = this.cfg;
    this.dense('attention.self.query', dim, dim, qkvBias);
    this.dense('attention.self.key', dim, dim, false);
    this.dense('attention.self.value', dim, dim, qkvBias);
    this.param('attention.self.logit_scale', [numHeads, 1, 1], initializers.constant(Math.log(10)));
    this.param('attention.self.continuous_position_bias_mlp.0.kernel', [2, cpbHidden], initializers.torchLinear(2));
    this.param('attention.self.continuous_position_bias_mlp.0.bias', [cpbHidden], initializers.torchLinear(2));
    this.param('attention.self.continuous_position_bias_mlp.2.kernel', [cpbHidden, numHeads], initializers.trunc02());
    this.dense('attention.output.dense', dim, dim, true);
    this.norm('layernorm_before', dim);
    const hidden = Math.floor(dim * mlpRatio);
    this.dense('intermediate.dense', dim, hidden, true);
    this.dense('output.dense', hidden, dim, true);
    this.norm('layernorm_after', dim);
    this.built = true;
  }

  private constants(hp: number, wp: number): void {
    if (this.coords) return;
    const ws = this.window;
    const p = this.cfg.pretrainedWindowSize;
    this.coords = tf.keep(tf.tensor2d(swinv2RelativeCoordsTable(ws, ws, [p, p]), [(2 * ws - 1) ** 2, 2]));
    this.lookup = makeTableLookup(swinRelativePositionIndex(ws, ws), (2 * ws - 1) ** 2);
    if (this.shift > 0) {
      const nW = (hp / ws) * (wp / ws);
      this.mask = tf.keep(tf.tensor3d(swinShiftMask(hp, wp, ws, this.shift), [nW, 1, ws * ws * ws * ws]));
    }
  }

  /** 16 * sigmoid(cpb_mlp(table))[index] -> [heads, N, N]. */
  private positionBias(): tf.Tensor {
    const ws = this.window;
    const n = ws * ws;
    const h = tf.relu(linear(this.coords!, this.w('attention.self.continuous_position_bias_mlp.0.kernel'), this.w('attention.self.continuous_position_bias_mlp.0.bias')));
    const table = linear(h, this.w('attention.self.continuous_position_bias_mlp.2.kernel'));
    const bias = tf.reshape(this.lookup!.lookup(table), [n, n, this.cfg.numHeads]);
    return tf.mul(tf.sigmoid(tf.transpose(bias, [2, 0, 1])), 16);
  }

  private windowAttention(x: tf.Tensor): tf.Tensor {
    const { dim, numHeads } = this.cfg;
    const [H, W] = this.cfg.resolution;
    const ws = this.window;
    const b = x.shape[0]!;
    let h = tf.reshape(x, [b, H, W, dim]);
    const padB = (ws - (H % ws)) % ws;
    const padR = (ws - (W % ws)) % ws;
    if (padB || padR) h = tf.pad(h, [[0, 0], [0, padB], [0, padR], [0, 0]]);
    const hp = H + padB;
    const wp = W + padR;
    this.constants(hp, wp);
    if (this.shift > 0) h = roll(roll(h, -this.shift, 1), -this.shift, 2);
    const win = windowPartition(h, ws); // [Bw, N, C]
    const bw = win.shape[0]!;
    const n = ws * ws;
    const hd = dim / numHeads;
    const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [bw, n, numHeads, hd]), [0, 2, 1, 3]);
    const q = heads(linear(win, this.w('attention.self.query.kernel'), this.wOpt('attention.self.query.bias')));
    const k = heads(linear(win, this.w('attention.self.key.kernel')));
    const v = heads(linear(win, this.w('attention.self.value.kernel'), this.wOpt('attention.self.value.bias')));
    let scores = mm(l2Normalize(q), l2Normalize(k), false, true); // [Bw, heads, N, N]
    scores = tf.mul(scores, tf.exp(tf.minimum(this.w('attention.self.logit_scale'), LOGIT_SCALE_MAX)));
    scores = tf.add(scores, this.positionBias());
    if (this.mask) {
      const nW = this.mask.shape[0]!;
      scores = tf.reshape(tf.add(tf.reshape(scores, [bw / nW, nW, numHeads, n * n]), this.mask), [bw, numHeads, n, n]);
    }
    const probs = tf.softmax(scores, -1);
    const ctx = tf.reshape(tf.transpose(mm(probs, v), [0, 2, 1, 3]), [bw, n, dim]);
    const out = linear(ctx, this.w('attention.output.dense.kernel'), this.w('attention.output.dense.bias'));
    let y = windowReverse(out, ws, b, hp, wp);
    if (this.shift > 0) y = roll(roll(y, this.shift, 1), this.shift, 2);
    if (padB || padR) y = tf.slice(y, [0, 0, 0, 0], [b, H, W, dim]);
    return tf.reshape(y, [b, H * W, dim]);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const training = isTraining(kwargs);
      const eps = this.cfg.layerNormEps;
      const attn = layerNorm(this.windowAttention(x), this.w('layernorm_before.gamma'), this.w('layernorm_before.beta'), eps);
      const h = tf.add(x, dropPath(attn, this.cfg.dropPath, training));
      let m = activation(this.cfg.hiddenAct, linear(h, this.w('intermediate.dense.kernel'), this.w('intermediate.dense.bias')));
      m = linear(m, this.w('output.dense.kernel'), this.w('output.dense.bias'));
      m = layerNorm(m, this.w('layernorm_after.gamma'), this.w('layernorm_after.beta'), eps);
      return tf.add(h, dropPath(m, this.cfg.dropPath, training));
    });
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return inputShape as tfl.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...(this.cfg as unknown as tf.serialization.ConfigDict) };
  }

  override dispose(): ReturnType<tfl.layers.Layer['dispose']> {
    this.lookup?.dispose();
    this.coords?.dispose();
    this.mask?.dispose();
    this.lookup = null;
    this.coords = this.mask = null;
    return super.dispose();
  }
}

export interface Swinv2PatchMergingArgs extends LayerArgs {
  dim: number;
  resolution: [number, number];
  /** Patch merging norms use LayerNorm's default 1e-5 in HF. */
  eps?: number;
}

/**
 * HF Swinv2PatchMerging: pad to even, concatenate the (0,0), (1,0), (0,1), (1,1) [row, col] sub-grids, `reduction`
 * (4C -> 2C, no bias), then `norm`. [B, H*W, C] -> [B, ceil(H/2)*ceil(W/2), 2C].
 */
export class Swinv2PatchMerging extends ParamLayer {
  static className = 'PlumageSwinv2PatchMerging';
  readonly cfg: Required<Omit<Swinv2PatchMergingArgs, keyof LayerArgs>>;

  constructor(args: Swinv2PatchMergingArgs) {
    super(args);
    this.cfg = { dim: args.dim, resolution: args.resolution, eps: args.eps ?? 1e-5 };
  }

  override build(): void {
    this.param('reduction.kernel', [4 * this.cfg.dim, 2 * this.cfg.dim], initializers.trunc02());
    this.norm('norm', 2 * this.cfg.dim);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const { dim: c } = this.cfg;
      const [H, W] = this.cfg.resolution;
      const b = x.shape[0]!;
      let h = tf.reshape(x, [b, H, W, c]);
      if (H % 2 || W % 2) h = tf.pad(h, [[0, 0], [0, H % 2], [0, W % 2], [0, 0]]);
      const h2 = (H + (H % 2)) / 2;
      const w2 = (W + (W % 2)) / 2;
      // [B*h2, row offset, w2, (col offset, C)]
      const t = tf.reshape(h, [b * h2, 2, w2, 2 * c]);
      const part = (r: number, col: number) => tf.slice(t, [0, r, 0, col * c], [b * h2, 1, w2, c]);
      const merged = tf.reshape(tf.concat([part(0, 0), part(1, 0), part(0, 1), part(1, 1)], 3), [b, h2 * w2, 4 * c]);
      const red = linear(merged, this.w('reduction.kernel'));
      return layerNorm(red, this.w('norm.gamma'), this.w('norm.beta'), this.cfg.eps);
    });
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = inputShape as tfl.Shape;
    const [H, W] = this.cfg.resolution;
    return [s[0]!, Math.ceil(H / 2) * Math.ceil(W / 2), 2 * this.cfg.dim];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...(this.cfg as unknown as tf.serialization.ConfigDict) };
  }
}

tf.serialization.registerClass(Swinv2Block);
tf.serialization.registerClass(Swinv2PatchMerging);
