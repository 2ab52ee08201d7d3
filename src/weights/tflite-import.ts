/**
 * Rebuilds a quantized TFLite image classifier (MobileNetV2-style: CONV_2D, DEPTHWISE_CONV_2D, ADD,
 * AVERAGE_POOL_2D, FULLY_CONNECTED / 1x1 CONV head, RESHAPE, SOFTMAX) as a trainable float32 tfjs LayersModel.
 *
 * Steps: parse -> dequantize weights to float32 ("float graph", an op list in tfjs weight layouts) ->
 * build a LayersModel between two cut points (the image or a block output, up to a block output, the pooled
 * embedding, the logits or the probabilities).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { actRange, quantizeMultiplier } from './tflite-reference.js';
import { Activation, BuiltinOp, dequantize, Padding, parseTflite, type TfliteModel, type TfliteTensor } from './tflite.js';

export type NodeKind = 'conv' | 'dwconv' | 'add' | 'avgpool' | 'dense' | 'softmax' | 'reshape';
export type ActName = 'linear' | 'relu' | 'relu6';

export interface GraphNode {
  /** Unique layer name, e.g. `expanded_conv_3_expand`. */
  name: string;
  /** Block this node belongs to (`Conv`, `expanded_conv`, `expanded_conv_1`..., `Conv_1`, `pool`, `Logits`, `softmax`). */
  block: string;
  kind: NodeKind;
  inputs: number[];
  output: number;
  /** tfjs layouts: conv [kh,kw,in,out]; dwconv [kh,kw,in,1]; dense [in,out]. */
  kernel?: Float32Array;
  kernelShape?: number[];
  bias?: Float32Array;
  strides?: [number, number];
  padding?: 'same' | 'valid';
  activation?: ActName;
  /** conv/dwconv/dense: per-tensor scale of the uint8 weights (the kernel is weightScale * (q - zeroPoint)). */
  weightScale?: number;
  /** avgpool: filter size [h, w]. */
  poolSize?: [number, number];
}

export interface FloatGraph {
  nodes: GraphNode[];
  /** Shapes (NHWC, batch 1, at the native input resolution) of every tensor index. */
  shapes: number[][];
  inputTensor: number;
  /** Native input resolution [h, w]. */
  inputSize: [number, number];
  /** Real value = scale * (q - zeroPoint) for the uint8 input; the rebuilt model maps [0,1] floats (q/255) to it. */
  inputScale: number;
  inputZeroPoint: number;
  /** Tensor holding the pooled embedding (output of the average pool). */
  embeddingTensor: number;
  /** Tensor holding the head's logits (before softmax). */
  logitsTensor: number;
  numOutputs: number;
  /** Block names in order, each with its output tensor. */
  blocks: { name: string; output: number; channels: number }[];
  /** Quantization of every tensor (for reference / diagnostics). */
  tflite: TfliteModel;
}

function actName(a: Activation | undefined): ActName {
  switch (a ?? Activation.NONE) {
    case Activation.NONE:
      return 'linear';
    case Activation.RELU:
      return 'relu';
    case Activation.RELU6:
      return 'relu6';
    default:
      throw new Error(`tflite import: unsupported fused activation ${a}`);
  }
}

const ACTIVATION_OF: Record<ActName, Activation> = { linear: Activation.NONE, relu: Activation.RELU, relu6: Activation.RELU6 };

/** Scale of a per-tensor quantized weight (undefined when quantized per axis). */
function perTensorScale(w: TfliteTensor): number | undefined {
  return w.quantization?.scale.length === 1 ? w.quantization.scale[0] : undefined;
}

function blockOf(weightName: string): { block: string; part: string } {
  const m = /MobilenetV2\/(expanded_conv(?:_\d+)?|Conv_1|Conv|Logits)\/([A-Za-z0-9_]+)/.exec(weightName);
  if (m) return { block: m[1]!, part: m[2]! };
  if (/Logits/.test(weightName)) return { block: 'Logits', part: 'dense' };
  return { block: 'misc', part: 'op' };
}

function biasScale(input: TfliteTensor, weight: TfliteTensor): Float32Array {
  const si = input.quantization?.scale[0];
  const sw = weight.quantization?.scale;
  if (si === undefined || !sw) throw new Error(`tflite import: missing quantization for '${weight.name}'`);
  return Float32Array.from(sw, (s) => si * s);
}

function transpose4(src: Float32Array, shape: number[], perm: number[]): { data: Float32Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = [shape[1]! * shape[2]! * shape[3]!, shape[2]! * shape[3]!, shape[3]!, 1];
  const out = new Float32Array(src.length);
  let o = 0;
  const idx = [0, 0, 0, 0];
  for (idx[0] = 0; idx[0] < outShape[0]!; idx[0]++)
    for (idx[1] = 0; idx[1] < outShape[1]!; idx[1]++)
      for (idx[2] = 0; idx[2] < outShape[2]!; idx[2]++)
        for (idx[3] = 0; idx[3] < outShape[3]!; idx[3]++) {
          let s = 0;
          for (let k = 0; k < 4; k++) s += idx[k]! * inStrides[perm[k]!]!;
          out[o++] = src[s]!;
        }
  return { data: out, shape: outShape };
}

/** Dequantizes a parsed TFLite model into a float graph. */
export function toFloatGraph(model: TfliteModel): FloatGraph {
  const T = model.tensors;
  const nodes: GraphNode[] = [];
  const used = new Set<string>();
  const uniq = (n: string) => {
    let name = n.replace(/[^A-Za-z0-9_]/g, '_');
    let i = 1;
    while (used.has(name)) name = `${n}_${++i}`;
    used.add(name);
    return name;
  };
  let embeddingTensor = -1;
  let logitsTensor = -1;
  let lastBlock = 'Conv';
  for (const op of model.operators) {
    const out = op.outputs[0]!;
    switch (op.opcode) {
      case BuiltinOp.CONV_2D:
      case BuiltinOp.DEPTHWISE_CONV_2D: {
        const [xi, wi, bi] = op.inputs as [number, number, number];
        const w = T[wi]!;
        const wf = dequantize(w);
        const bias = bi >= 0 ? dequantize(T[bi]!, biasScale(T[xi]!, w)) : new Float32Array(w.shape[w.shape.length - 1]!);
        const c = op.conv!;
        const weightScale = perTensorScale(w);
        if (c.dilationH !== 1 || c.dilationW !== 1) throw new Error('tflite import: dilated convolutions are not supported');
        const { block, part } = blockOf(w.name);
        const isHead = block === 'Logits';
        if (op.opcode === BuiltinOp.DEPTHWISE_CONV_2D) {
          if ((c.depthMultiplier ?? 1) !== 1) throw new Error('tflite import: depth multiplier != 1 not supported');
          const [, kh, kw, ch] = w.shape as [number, number, number, number];
          nodes.push({
            name: uniq(`${block}_${part}`),
            block,
            kind: 'dwconv',
            inputs: [xi],
            output: out,
            kernel: wf, // [1,kh,kw,C] has the same memory order as [kh,kw,C,1]
            kernelShape: [kh, kw, ch, 1],
            bias,
            strides: [c.strideH, c.strideW],
            padding: c.padding === Padding.SAME ? 'same' : 'valid',
            activation: actName(c.activation),
            weightScale,
          });
        } else if (isHead && w.shape[1] === 1 && w.shape[2] === 1) {
          // 1x1 conv classifier on the pooled map: a dense layer.
          const [o, , , i] = w.shape as [number, number, number, number];
          const tr = transpose4(wf, [o, 1, 1, i], [1, 2, 3, 0]);
          nodes.push({ name: uniq('Logits_dense'), block: 'Logits', kind: 'dense', inputs: [xi], output: out, kernel: tr.data, kernelShape: [i, o], bias, activation: actName(c.activation), weightScale });
          logitsTensor = out;
        } else {
          const tr = transpose4(wf, w.shape, [1, 2, 3, 0]);
          nodes.push({
            name: uniq(`${block}_${part}`),
            block,
            kind: 'conv',
            inputs: [xi],
            output: out,
            kernel: tr.data,
            kernelShape: tr.shape,
            bias,
            strides: [c.strideH, c.strideW],
            padding: c.padding === Padding.SAME ? 'same' : 'valid',
            activation: actName(c.activation),
            weightScale,
          });
        }
        lastBlock = block;
        break;
      }
      case BuiltinOp.FULLY_CONNECTED: {
        const [xi, wi, bi] = op.inputs as [number, number, number];
        const w = T[wi]!;
        const [o, i] = w.shape as [number, number];
        const wf = dequantize(w);
        const k = new Float32Array(i * o);
        for (let r = 0; r < o; r++) for (let cc = 0; cc < i; cc++) k[cc * o + r] = wf[r * i + cc]!;
        const bias = bi >= 0 ? dequantize(T[bi]!, biasScale(T[xi]!, w)) : new Float32Array(o);
        nodes.push({ name: uniq('Logits_dense'), block: 'Logits', kind: 'dense', inputs: [xi], output: out, kernel: k, kernelShape: [i, o], bias, activation: actName(op.activation), weightScale: perTensorScale(w) });
        logitsTensor = out;
        lastBlock = 'Logits';
        break;
      }
      case BuiltinOp.ADD:
        nodes.push({ name: uniq(`${lastBlock}_add`), block: lastBlock, kind: 'add', inputs: op.inputs, output: out, activation: actName(op.activation) });
        break;
      case BuiltinOp.AVERAGE_POOL_2D: {
        const p = op.pool!;
        nodes.push({
          name: uniq('pool'),
          block: 'pool',
          kind: 'avgpool',
          inputs: [op.inputs[0]!],
          output: out,
          poolSize: [p.filterH, p.filterW],
          strides: [p.strideH, p.strideW],
          padding: p.padding === Padding.SAME ? 'same' : 'valid',
          activation: actName(p.activation),
        });
        embeddingTensor = out;
        lastBlock = 'pool';
        break;
      }
      case BuiltinOp.RESHAPE:
      case BuiltinOp.SQUEEZE:
        nodes.push({ name: uniq('reshape'), block: lastBlock, kind: 'reshape', inputs: [op.inputs[0]!], output: out });
        if (logitsTensor === op.inputs[0]) logitsTensor = out;
        break;
      case BuiltinOp.SOFTMAX:
        nodes.push({ name: uniq('softmax'), block: 'softmax', kind: 'softmax', inputs: [op.inputs[0]!], output: out });
        break;
      default:
        throw new Error(`tflite import: unsupported operator ${op.opName}`);
    }
  }
  const inputTensor = model.inputs[0]!;
  const inT = T[inputTensor]!;
  if (!inT.quantization) throw new Error('tflite import: input tensor is not quantized; float inputs are not supported');
  if (embeddingTensor < 0 || logitsTensor < 0) throw new Error('tflite import: graph has no average pool / classifier head');
  const blocks: FloatGraph['blocks'] = [];
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    const next = nodes[i + 1];
    if (!next || next.block !== n.block) {
      const sh = T[n.output]!.shape;
      blocks.push({ name: n.block, output: n.output, channels: sh[sh.length - 1]! });
    }
  }
  const logitsShape = T[logitsTensor]!.shape;
  return {
    nodes,
    shapes: T.map((t) => t.shape),
    inputTensor,
    inputSize: [inT.shape[1]!, inT.shape[2]!],
    inputScale: inT.quantization.scale[0]!,
    inputZeroPoint: inT.quantization.zeroPoint[0] ?? 0,
    embeddingTensor,
    logitsTensor,
    numOutputs: logitsShape[logitsShape.length - 1]!,
    blocks,
    tflite: model,
  };
}

export function loadFloatGraph(bytes: Uint8Array): FloatGraph {
  return toFloatGraph(parseTflite(bytes));
}

/** Names of the blocks that can serve as cut points, in order (Conv, expanded_conv, ..., Conv_1). */
export function backboneBlocks(g: FloatGraph): string[] {
  return g.blocks.filter((b) => b.name !== 'pool' && b.name !== 'Logits' && b.name !== 'softmax' && b.name !== 'misc').map((b) => b.name);
}

export type CutPoint = 'image' | 'embedding' | 'logits' | 'probs' | { block: string };

function cutTensor(g: FloatGraph, c: CutPoint): number {
  if (c === 'image') return g.inputTensor;
  if (c === 'embedding') return g.embeddingTensor;
  if (c === 'logits') return g.logitsTensor;
  if (c === 'probs') return g.tflite.outputs[0]!;
  const b = g.blocks.find((x) => x.name === c.block);
  if (!b) throw new Error(`tflite import: unknown block '${c.block}' (known: ${g.blocks.map((x) => x.name).join(', ')})`);
  return b.output;
}

export interface BuildOptions {
  /** Where the model starts: the image (default) or the output of a block. */
  from?: CutPoint;
  /** Where it ends: a block output, the pooled embedding (default), the logits or the probabilities. */
  to?: CutPoint;
  /** Square input resolution in pixels (default: the graph's native one, 224). Pools become global pools. */
  inputSize?: number;
  trainable?: boolean;
  /** Layer name prefix (lets two backbones live in one model). */
  prefix?: string;
  name?: string;
}

/** Spatial size of a block output for an input resolution (SAME padding: ceil division per stride). */
function spatialAt(g: FloatGraph, tensor: number, inputSize: number): number {
  // Walk strides from the input.
  const size = new Map<number, number>([[g.inputTensor, inputSize]]);
  for (const n of g.nodes) {
    const s = size.get(n.inputs[0]!);
    if (s === undefined) continue;
    if (n.kind === 'conv' || n.kind === 'dwconv') {
      const st = n.strides![0];
      const k = n.kernelShape![0]!;
      size.set(n.output, n.padding === 'same' ? Math.ceil(s / st) : Math.floor((s - k) / st) + 1);
    } else if (n.kind === 'avgpool' || n.kind === 'dense') size.set(n.output, 1);
    else size.set(n.output, s);
    if (n.output === tensor) return size.get(tensor)!;
  }
  return size.get(tensor) ?? 1;
}

/** Applies the graph's nodes to symbolic tensors from `from` up to `to`; returns the output symbolic tensor. */
export function applyGraph(
  g: FloatGraph,
  input: tfl.SymbolicTensor,
  opts: { from?: CutPoint; to?: CutPoint; trainable?: boolean; prefix?: string },
): tfl.SymbolicTensor {
  const from = cutTensor(g, opts.from ?? 'image');
  const to = cutTensor(g, opts.to ?? 'embedding');
  const prefix = opts.prefix ?? '';
  const trainable = opts.trainable ?? true;
  const env = new Map<number, tfl.SymbolicTensor>();
  let x = input;
  if (from === g.inputTensor) {
    // uint8 q = 255 * x; real = scale * (q - zp)
    x = tfl.layers
      .rescaling({ scale: 255 * g.inputScale, offset: -g.inputZeroPoint * g.inputScale, name: `${prefix}input_norm` })
      .apply(x) as tfl.SymbolicTensor;
  }
  env.set(from, x);
  if (from === to) return x;
  for (const n of g.nodes) {
    if (!n.inputs.every((i) => env.has(i))) continue;
    if (env.has(n.output)) continue;
    const ins = n.inputs.map((i) => env.get(i)!);
    const name = prefix + n.name;
    let y: tfl.SymbolicTensor;
    switch (n.kind) {
      case 'conv':
        y = tfl.layers
          .conv2d({
            name,
            filters: n.kernelShape![3]!,
            kernelSize: [n.kernelShape![0]!, n.kernelShape![1]!],
            strides: n.strides!,
            padding: n.padding!,
            activation: n.activation,
            useBias: true,
            trainable,
            weights: [tf.tensor4d(n.kernel!, n.kernelShape as [number, number, number, number]), tf.tensor1d(n.bias!)],
          })
          .apply(ins[0]!) as tfl.SymbolicTensor;
        break;
      case 'dwconv':
        y = tfl.layers
          .depthwiseConv2d({
            name,
            kernelSize: [n.kernelShape![0]!, n.kernelShape![1]!],
            strides: n.strides!,
            padding: n.padding!,
            activation: n.activation,
            depthMultiplier: 1,
            useBias: true,
            trainable,
            weights: [tf.tensor4d(n.kernel!, n.kernelShape as [number, number, number, number]), tf.tensor1d(n.bias!)],
          })
          .apply(ins[0]!) as tfl.SymbolicTensor;
        break;
      case 'add':
        y = tfl.layers.add({ name }).apply(ins) as tfl.SymbolicTensor;
        if (n.activation && n.activation !== 'linear') y = tfl.layers.activation({ activation: n.activation, name: `${name}_act` }).apply(y) as tfl.SymbolicTensor;
        break;
      case 'avgpool':
        // The pool spans the whole final map at the native size; a global pool keeps that meaning at any input size.
        y = tfl.layers.globalAveragePooling2d({ name }).apply(ins[0]!) as tfl.SymbolicTensor;
        break;
      case 'dense': {
        let z = ins[0]!;
        if (z.shape.length > 2) z = tfl.layers.flatten({ name: `${name}_flatten` }).apply(z) as tfl.SymbolicTensor;
        y = tfl.layers
          .dense({
            name,
            units: n.kernelShape![1]!,
            activation: n.activation,
            trainable,
            weights: [tf.tensor2d(n.kernel!, n.kernelShape as [number, number]), tf.tensor1d(n.bias!)],
          })
          .apply(z) as tfl.SymbolicTensor;
        break;
      }
      case 'reshape':
        y = ins[0]!;
        break;
      case 'softmax':
        y = tfl.layers.softmax({ name }).apply(ins[0]!) as tfl.SymbolicTensor;
        break;
    }
    env.set(n.output, y);
    if (n.output === to) return y;
  }
  if (!env.has(to)) throw new Error('tflite import: the requested end point is not reachable from the start point');
  return env.get(to)!;
}

/** Builds a LayersModel between two cut points of the float graph. */
export function buildLayersModel(g: FloatGraph, opts: BuildOptions = {}): tfl.LayersModel {
  const res = opts.inputSize ?? g.inputSize[0];
  const fromT = cutTensor(g, opts.from ?? 'image');
  let shape: number[];
  if (fromT === g.inputTensor) shape = [res, res, 3];
  else {
    const s = spatialAt(g, fromT, res);
    const c = g.shapes[fromT]!;
    shape = c.length === 4 ? [s, s, c[3]!] : [c[c.length - 1]!];
  }
  const input = tfl.input({ shape, name: `${opts.prefix ?? ''}input` });
  const out = applyGraph(g, input, opts);
  return tfl.model({ inputs: input, outputs: out, name: opts.name ?? 'mobilenetv2' });
}

/** Feature map shape [h, w, c] of a block output (or the embedding) at an input resolution. */
export function cutShape(g: FloatGraph, c: CutPoint, inputSize: number): number[] {
  const t = cutTensor(g, c);
  const sh = g.shapes[t]!;
  if (t === g.embeddingTensor || t === g.logitsTensor || sh.length !== 4) return [sh[sh.length - 1]!];
  const s = spatialAt(g, t, inputSize);
  return [s, s, sh[3]!];
}

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

/** Round half away from zero (gemmlowp's rounding), elementwise. */
function roundHalfAway(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.sign(x), tf.floor(tf.add(tf.abs(x), 0.5)));
}

/**
 * TFLite's MultiplyByQuantizedMultiplier(acc, m, shift) (SaturatingRoundingDoublingHighMul, then
 * RoundingDivideByPOT) computed exactly with float32 tensor ops, elementwise. `acc` holds integers with |acc| < 2^24;
 * m is the 31-bit multiplier. The 55-bit product |acc| * 2^left * m is formed in base-2^11 limbs (every partial
 * product and limb sum stays below 2^24, so float32 holds it exactly) and carried, so no rounding of float32
 * arithmetic enters: the result equals the integer kernel's bit for bit (tested against the reference on random
 * values).
 */
export function requantExact(acc: tf.Tensor, m: number, shift: number): tf.Tensor {
  return tf.tidy(() => {
    const left = shift > 0 ? shift : 0;
    const right = shift > 0 ? 0 : -shift;
    const B = 2048;
    const neg = tf.cast(tf.less(acc, 0), 'float32');
    const A = tf.mul(tf.abs(acc), 2 ** left); // < 2^33 with at most 24 significant bits: exact
    const a2 = tf.floor(tf.div(A, B * B));
    const rest = tf.sub(A, tf.mul(a2, B * B));
    const a1 = tf.floor(tf.div(rest, B));
    const a0 = tf.sub(rest, tf.mul(a1, B));
    const m2 = Math.floor(m / (B * B));
    const m1 = Math.floor((m - m2 * B * B) / B);
    const m0 = m - m2 * B * B - m1 * B;
    // |acc| * m = sum_k c_k 2^(11k); plus the SRDHM nudge 2^30 (2^30 - 1 for negative products) = 256 * 2^22 - neg.
    const c0 = tf.sub(tf.mul(a0, m0), neg);
    const c1 = tf.add(tf.mul(a0, m1), tf.mul(a1, m0));
    const c2 = tf.add(tf.add(tf.add(tf.mul(a0, m2), tf.mul(a1, m1)), tf.mul(a2, m0)), 256);
    const c3 = tf.add(tf.mul(a1, m2), tf.mul(a2, m1));
    const c4 = tf.mul(a2, m2);
    const carry = (d: tf.Tensor) => tf.floor(tf.div(d, B));
    const k0 = carry(c0);
    const d1 = tf.add(c1, k0);
    const k1 = carry(d1);
    const d2 = tf.add(c2, k1);
    const k2 = carry(d2);
    const r2 = tf.sub(d2, tf.mul(k2, B));
    const d3 = tf.add(c3, k2);
    const k3 = carry(d3);
    const r3 = tf.sub(d3, tf.mul(k3, B));
    const d4 = tf.add(c4, k3);
    // floor(X / 2^31) with X = d4 2^44 + r3 2^33 + r2 2^22 + (lower limbs < 2^22).
    const q = tf.add(tf.add(tf.mul(d4, 8192), tf.mul(r3, 4)), tf.floor(tf.div(r2, 512)));
    const t1 = tf.sub(q, tf.mul(tf.mul(neg, 2), q)); // sign back: SRDHM rounds half away from zero
    if (right === 0) return t1;
    const p = 2 ** right;
    const fl = tf.floor(tf.div(t1, p)); // arithmetic shift right
    const rem = tf.sub(t1, tf.mul(fl, p));
    const threshold = tf.add(neg, p / 2 - 1);
    return tf.add(fl, tf.cast(tf.greater(rem, threshold), 'float32'));
  });
}

/** Real-valued range [scale*(0-zp), scale*(255-zp)] a uint8 tensor can represent, or null. */
export function quantRange(g: FloatGraph, tensor: number): [number, number] | null {
  const q = g.tflite.tensors[tensor]?.quantization;
  if (!q || q.scale.length !== 1) return null;
  const zp = q.zeroPoint[0] ?? 0;
  return [q.scale[0]! * (0 - zp), q.scale[0]! * (255 - zp)];
}
