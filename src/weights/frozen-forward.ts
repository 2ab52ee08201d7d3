/**
 * A frozen, inference-only forward pass over a float graph with fused tfjs ops, optionally fake-quantized to
 * reproduce TFLite's uint8 kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ACTIVATION_OF, quantRange, requantExact, roundHalfAway } from './fake-quant.js';
import { type CutPoint, cutTensor, type FloatGraph, type GraphNode } from './tflite-graph.js';
import { actRange, quantizeMultiplier } from './tflite-reference.js';

/**
 * A frozen, inference-only forward pass over the float graph using fused tfjs ops directly (conv + bias + relu6 in
 * one kernel), faster than the LayersModel for embedding extraction. Same cut points as buildLayersModel.
 */
export class FrozenForward {
  private readonly weights = new Map<string, { k: tf.Tensor; b: tf.Tensor }>();
  /** Fake quantization: centred integer kernels (q - zero point) and int32 biases, as float32 (exact). */
  private readonly intWeights = new Map<string, { k: tf.Tensor; b: tf.Tensor }>();
  private readonly from: number;
  private readonly to: number;
  private readonly extra: number[];
  private readonly clamp: boolean;
  private readonly fakeQuant: boolean;
  constructor(
    readonly graph: FloatGraph,
    opts: {
      from?: CutPoint;
      to?: CutPoint;
      clampToQuantRange?: boolean;
      /**
       * Compute like TFLite's uint8 kernels, in float32 tensor ops: every activation on its tensor's uint8 grid,
       * convolutions and dense layers on the integers (q - zero point) with exact requantization (requantExact),
       * the softmax quantized too. With it the float graph reproduces the integer graph bit for bit (measured on
       * 500 birds25 images; docs/transfer.md). Inference only: rounding has no useful gradient.
       */
      fakeQuant?: boolean;
      /** Further cut points returned by applyMulti (must lie before `to`). */ also?: CutPoint[];
    } = {},
  ) {
    this.clamp = opts.clampToQuantRange ?? false;
    this.fakeQuant = opts.fakeQuant ?? false;
    this.from = cutTensor(graph, opts.from ?? 'image');
    this.to = cutTensor(graph, opts.to ?? 'embedding');
    this.extra = (opts.also ?? []).map((c) => cutTensor(graph, c));
    for (const n of graph.nodes) {
      if (n.kernel && n.bias) {
        const k = n.kind === 'dense' ? tf.tensor2d(n.kernel, n.kernelShape as [number, number]) : tf.tensor4d(n.kernel, n.kernelShape as [number, number, number, number]);
        this.weights.set(n.name, { k, b: tf.tensor1d(n.bias) });
        const sx = graph.tflite.tensors[n.inputs[0]!]?.quantization?.scale;
        if (this.fakeQuant && n.weightScale !== undefined && sx?.length === 1) {
          const sw = n.weightScale;
          this.intWeights.set(n.name, tf.tidy(() => ({ k: tf.round(tf.div(k, sw)), b: tf.round(tf.div(tf.tensor1d(n.bias!), sx[0]! * sw)) })));
        }
      }
    }
  }

  /**
   * A conv / depthwise conv / dense op computed the way TFLite's uint8 kernels compute it: integer accumulators
   * (float32 holds them exactly: centred uint8 products summed stay far below 2^24), one rescale by
   * input scale x weight scale / output scale, TFLite's double rounding, the activation as a clamp on the uint8 grid.
   * Returns the dequantized output, or null where the node has no per-tensor quantization.
   */
  private integerOp(n: GraphNode, x: tf.Tensor): tf.Tensor | null {
    const w = this.intWeights.get(n.name);
    const T = this.graph.tflite.tensors;
    const qx = T[n.inputs[0]!]?.quantization;
    const qo = T[n.output]?.quantization;
    if (!w || !qx || !qo || qo.scale.length !== 1 || n.weightScale === undefined) return null;
    const sx = qx.scale[0]!;
    const so = qo.scale[0]!;
    const zo = qo.zeroPoint[0] ?? 0;
    const xi = tf.round(tf.div(x, sx)); // x = sx * (q - zp): the centred integers
    let acc: tf.Tensor;
    if (n.kind === 'conv') acc = tf.fused.conv2d({ x: xi as tf.Tensor4D, filter: w.k as tf.Tensor4D, strides: n.strides!, pad: n.padding!, bias: w.b });
    else if (n.kind === 'dwconv') acc = tf.fused.depthwiseConv2d({ x: xi as tf.Tensor4D, filter: w.k as tf.Tensor4D, strides: n.strides!, pad: n.padding!, bias: w.b });
    else acc = tf.fused.matMul({ a: (xi.rank > 2 ? tf.reshape(xi, [xi.shape[0]!, -1]) : xi) as tf.Tensor2D, b: w.k as tf.Tensor2D, bias: w.b });
    const { m, shift } = quantizeMultiplier((sx * n.weightScale) / so);
    const v = requantExact(acc, m, shift);
    const [lo, hi] = actRange(ACTIVATION_OF[n.activation ?? 'linear'], so, zo);
    return tf.mul(tf.sub(tf.clipByValue(tf.add(v, zo), lo, hi), zo), so);
  }

  /** x: float32 [N,H,W,3] in [0,1] (or a cut tensor when `from` is a block). */
  apply(x: tf.Tensor4D | tf.Tensor2D): tf.Tensor {
    return this.applyMulti(x)[0]!;
  }

  /** Returns [output at `to`, ...outputs at the `also` cut points], from one pass. */
  applyMulti(x: tf.Tensor4D | tf.Tensor2D): tf.Tensor[] {
    const g = this.graph;
    const pick = (env: Map<number, tf.Tensor>, last: tf.Tensor) => [last, ...this.extra.map((t) => {
      const v = env.get(t);
      if (!v) throw new Error('FrozenForward: an extra cut point is not computed before the end point');
      return v;
    })];
    return tf.tidy(() => {
      const env = new Map<number, tf.Tensor>();
      let input: tf.Tensor = x;
      if (this.from === g.inputTensor) input = tf.add(tf.mul(x, 255 * g.inputScale), -g.inputZeroPoint * g.inputScale);
      env.set(this.from, input);
      if (this.from === this.to) return pick(env, input);
      for (const n of g.nodes) {
        if (env.has(n.output) || !n.inputs.every((i) => env.has(i))) continue;
        const ins = n.inputs.map((i) => env.get(i)!);
        const act = n.activation === 'linear' ? 'linear' : n.activation;
        let y: tf.Tensor;
        const exact = this.fakeQuant && (n.kind === 'conv' || n.kind === 'dwconv' || n.kind === 'dense') ? this.integerOp(n, ins[0]!) : null;
        if (exact) {
          env.set(n.output, exact);
          if (n.output === this.to) return pick(env, exact);
          continue;
        }
        switch (n.kind) {
          case 'conv': {
            const w = this.weights.get(n.name)!;
            y = tf.fused.conv2d({ x: ins[0] as tf.Tensor4D, filter: w.k as tf.Tensor4D, strides: n.strides!, pad: n.padding!, bias: w.b, activation: act });
            break;
          }
          case 'dwconv': {
            const w = this.weights.get(n.name)!;
            y = tf.fused.depthwiseConv2d({ x: ins[0] as tf.Tensor4D, filter: w.k as tf.Tensor4D, strides: n.strides!, pad: n.padding!, bias: w.b, activation: act });
            break;
          }
          case 'add':
            y = tf.add(ins[0]!, ins[1]!);
            if (act === 'relu6') y = tf.relu6(y);
            else if (act === 'relu') y = tf.relu(y);
            break;
          case 'avgpool':
            y = tf.mean(ins[0]!, [1, 2]);
            break;
          case 'dense': {
            const w = this.weights.get(n.name)!;
            const z = ins[0]!.rank > 2 ? tf.reshape(ins[0]!, [ins[0]!.shape[0]!, -1]) : ins[0]!;
            y = tf.fused.matMul({ a: z as tf.Tensor2D, b: w.k as tf.Tensor2D, bias: w.b, activation: act });
            break;
          }
          case 'reshape':
            y = ins[0]!;
            break;
          case 'softmax':
            y = tf.softmax(ins[0]!);
            break;
        }
        if (this.clamp && n.kind !== 'softmax' && n.kind !== 'reshape') {
          const r = quantRange(g, n.output);
          if (r) y = tf.clipByValue(y, r[0], r[1]);
        }
        if (this.fakeQuant && n.kind !== 'reshape') {
          const q = g.tflite.tensors[n.output]?.quantization;
          if (q && q.scale.length === 1) {
            const sc = q.scale[0]!;
            const zp = q.zeroPoint[0] ?? 0;
            y = tf.mul(tf.sub(tf.clipByValue(tf.add(roundHalfAway(tf.div(y, sc)), zp), 0, 255), zp), sc);
          }
        }
        env.set(n.output, y);
        if (n.output === this.to) return pick(env, y);
      }
      throw new Error('FrozenForward: end point not reached');
    });
  }

  dispose(): void {
    for (const w of [...this.weights.values(), ...this.intWeights.values()]) {
      w.k.dispose();
      w.b.dispose();
    }
    this.weights.clear();
    this.intWeights.clear();
  }
}
