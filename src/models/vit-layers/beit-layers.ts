/**
 * BEiT building blocks (HF BeitEmbeddings tokens, BeitRelativePositionBias, BeitLayer) as tfjs-layers custom layers.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ParamLayer, initializers, isTraining, type LayerArgs } from './base.js';
import { activation, beitRelativePositionIndex, dropPath, layerNorm, linear, makeTableLookup, mm } from './ops.js';

export interface BeitTokensArgs extends LayerArgs {
  dim: number;
  numPatches: number;
  usePositionEmbeddings: boolean;
  useMaskToken?: boolean;
}

/** Prepends `cls_token` to the patch tokens and adds `position_embeddings` when configured. [B, P, C] -> [B, P+1, C]. */
export class BeitTokens extends ParamLayer {
  static className = 'PlumageBeitTokens';
  readonly cfg: Required<Omit<BeitTokensArgs, keyof LayerArgs>>;

  constructor(args: BeitTokensArgs) {
    super(args);
    this.cfg = { dim: args.dim, numPatches: args.numPatches, usePositionEmbeddings: args.usePositionEmbeddings, useMaskToken: args.useMaskToken ?? false };
  }

  override build(): void {
    const { dim, numPatches } = this.cfg;
    this.param('cls_token', [1, 1, dim], initializers.trunc02());
    // mask_token is only used for masked-image pre-training; declared so such checkpoints load.
    if (this.cfg.useMaskToken) this.param('mask_token', [1, 1, dim], initializers.trunc02());
    if (this.cfg.usePositionEmbeddings) this.param('position_embeddings', [1, numPatches + 1, dim], initializers.trunc02());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const b = x.shape[0]!;
      const cls = tf.tile(this.w('cls_token'), [b, 1, 1]);
      let t = tf.concat([cls, x], 1);
      const pos = this.wOpt('position_embeddings');
      if (pos) t = tf.add(t, pos);
      return t;
    });
  }

  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = s as tfl.Shape;
    return [shape[0]!, shape[1]! + 1, shape[2]!];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...(this.cfg as unknown as tf.serialization.ConfigDict) };
  }
}

/** Shared state for a BEiT relative position bias table over a wh x ww grid + [CLS]. */
class RelBias {
  readonly numRel: number;
  private lookup: ReturnType<typeof makeTableLookup> | null = null;
  constructor(
    readonly grid: [number, number],
    readonly numHeads: number,
  ) {
    this.numRel = (2 * grid[0] - 1) * (2 * grid[1] - 1) + 3;
  }
  /** table [numRel, heads] -> bias [1, heads, M, M]. */
  apply(table: tf.Tensor): tf.Tensor {
    const m = this.grid[0] * this.grid[1] + 1;
    if (!this.lookup) this.lookup = makeTableLookup(beitRelativePositionIndex(this.grid[0], this.grid[1]), this.numRel);
    const b = tf.reshape(this.lookup.lookup(table), [m, m, this.numHeads]);
    return tf.reshape(tf.transpose(b, [2, 0, 1]), [1, this.numHeads, m, m]);
  }
  dispose(): void {
    this.lookup?.dispose();
    this.lookup = null;
  }
}

export interface BeitRelativePositionBiasArgs extends LayerArgs {
  grid: [number, number];
  numHeads: number;
}

/**
 * The shared table `beit.encoder.relative_position_bias.relative_position_bias_table`. Applied to the token tensor
 * (only for wiring); outputs the bias [1, heads, N+1, N+1] that every BeitBlock adds.
 */
export class BeitRelativePositionBias extends ParamLayer {
  static className = 'PlumageBeitRelativePositionBias';
  readonly grid: [number, number];
  readonly numHeads: number;
  private readonly rel: RelBias;

  constructor(args: BeitRelativePositionBiasArgs) {
    super(args);
    this.grid = args.grid;
    this.numHeads = args.numHeads;
    this.rel = new RelBias(args.grid, args.numHeads);
  }

  override build(): void {
    this.param('relative_position_bias_table', [this.rel.numRel, this.numHeads], initializers.zeros());
    this.built = true;
  }

  override call(): tf.Tensor {
    return tf.tidy(() => this.rel.apply(this.w('relative_position_bias_table')));
  }

  override computeOutputShape(): tfl.Shape {
    const m = this.grid[0] * this.grid[1] + 1;
    return [1, this.numHeads, m, m];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), grid: this.grid, numHeads: this.numHeads };
  }

  override dispose(): ReturnType<tfl.layers.Layer['dispose']> {
    this.rel.dispose();
    return super.dispose();
  }
}

export interface BeitBlockArgs extends LayerArgs {
  dim: number;
  numHeads: number;
  intermediateSize: number;
  grid: [number, number];
  /** Per-layer relative position bias table (config.use_relative_position_bias). */
  relativePositionBias: boolean;
  /** > 0 adds lambda_1 / lambda_2 initialised to this value (config.layer_scale_init_value). */
  layerScaleInit: number;
  layerNormEps: number;
  hiddenAct?: string;
  dropPath?: number;
}

/**
 * One BEiT layer (pre-norm): x + lambda_1 * attn(LN(x)), then + lambda_2 * mlp(LN(.)). Inputs: tokens, or
 * [tokens, shared bias]. Weights use the HF sub-module names of `beit.encoder.layer.<i>`.
 */
export class BeitBlock extends ParamLayer {
  static className = 'PlumageBeitBlock';
  readonly cfg: Required<Omit<BeitBlockArgs, keyof LayerArgs>>;
  private readonly rel: RelBias;

  constructor(args: BeitBlockArgs) {
    super(args);
    this.cfg = {
      dim: args.dim,
      numHeads: args.numHeads,
      intermediateSize: args.intermediateSize,
      grid: args.grid,
      relativePositionBias: args.relativePositionBias,
      layerScaleInit: args.layerScaleInit,
      layerNormEps: args.layerNormEps,
      hiddenAct: args.hiddenAct ?? 'gelu',
      dropPath: args.dropPath ?? 0,
    };
    this.rel = new RelBias(args.grid, args.numHeads);
  }

  override build(): void {
    const { dim, intermediateSize, numHeads } = this.cfg;
    this.norm('layernorm_before', dim);
    this.dense('attention.attention.query', dim, dim, true);
    this.dense('attention.attention.key', dim, dim, false);
    this.dense('attention.attention.value', dim, dim, true);
    if (this.cfg.relativePositionBias) {
      this.param('attention.attention.relative_position_bias.relative_position_bias_table', [this.rel.numRel, numHeads], initializers.zeros());
    }
    this.dense('attention.output.dense', dim, dim, true);
    this.norm('layernorm_after', dim);
    this.dense('intermediate.dense', dim, intermediateSize, true);
    this.dense('output.dense', intermediateSize, dim, true);
    if (this.cfg.layerScaleInit > 0) {
      this.param('lambda_1', [dim], initializers.constant(this.cfg.layerScaleInit));
      this.param('lambda_2', [dim], initializers.constant(this.cfg.layerScaleInit));
    }
    this.built = true;
  }

  private attention(x: tf.Tensor, shared: tf.Tensor | null): tf.Tensor {
    const { dim, numHeads } = this.cfg;
    const [b, n] = x.shape as number[];
    const hd = dim / numHeads;
    const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [b!, n!, numHeads, hd]), [0, 2, 1, 3]);
    const q = heads(linear(x, this.w('attention.attention.query.kernel'), this.w('attention.attention.query.bias')));
    const k = heads(linear(x, this.w('attention.attention.key.kernel')));
    const v = heads(linear(x, this.w('attention.attention.value.kernel'), this.w('attention.attention.value.bias')));
    let scores = tf.div(mm(q, k, false, true), Math.sqrt(hd));
    const table = this.wOpt('attention.attention.relative_position_bias.relative_position_bias_table');
    if (table) scores = tf.add(scores, this.rel.apply(table));
    if (shared) scores = tf.add(scores, shared);
    const ctx = tf.reshape(tf.transpose(mm(tf.softmax(scores, -1), v), [0, 2, 1, 3]), [b!, n!, dim]);
    return linear(ctx, this.w('attention.output.dense.kernel'), this.w('attention.output.dense.bias'));
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const [x, shared] = Array.isArray(inputs) ? [inputs[0]!, inputs[1] ?? null] : [inputs, null];
      const training = isTraining(kwargs);
      const eps = this.cfg.layerNormEps;
      let a = this.attention(layerNorm(x, this.w('layernorm_before.gamma'), this.w('layernorm_before.beta'), eps), shared);
      const l1 = this.wOpt('lambda_1');
      if (l1) a = tf.mul(a, l1);
      const h = tf.add(x, dropPath(a, this.cfg.dropPath, training));
      let m = layerNorm(h, this.w('layernorm_after.gamma'), this.w('layernorm_after.beta'), eps);
      m = activation(this.cfg.hiddenAct, linear(m, this.w('intermediate.dense.kernel'), this.w('intermediate.dense.bias')));
      m = linear(m, this.w('output.dense.kernel'), this.w('output.dense.bias'));
      const l2 = this.wOpt('lambda_2');
      if (l2) m = tf.mul(m, l2);
      return tf.add(h, dropPath(m, this.cfg.dropPath, training));
    });
  }

  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(s[0]) ? s[0] : s) as tfl.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...(this.cfg as unknown as tf.serialization.ConfigDict) };
  }

  override dispose(): ReturnType<tfl.layers.Layer['dispose']> {
    this.rel.dispose();
    return super.dispose();
  }
}

for (const cls of [BeitTokens, BeitRelativePositionBias, BeitBlock]) tf.serialization.registerClass(cls);
