/**
 * The float graph of a quantized TFLite image classifier (MobileNetV2-style) and its cut points: an op list with
 * float32 weights in tfjs layouts, the quantization of every tensor kept for fake quantization / diagnostics.
 * Built by tflite-dequantize.ts; turned into layers by tflite-layers.ts, run frozen by frozen-forward.ts.
 */
import type { TfliteModel } from './tflite.js';

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

/** Names of the blocks that can serve as cut points, in order (Conv, expanded_conv, ..., Conv_1). */
export function backboneBlocks(g: FloatGraph): string[] {
  return g.blocks.filter((b) => b.name !== 'pool' && b.name !== 'Logits' && b.name !== 'softmax' && b.name !== 'misc').map((b) => b.name);
}

export type CutPoint = 'image' | 'embedding' | 'logits' | 'probs' | { block: string };

/** Tensor index of a cut point. */
export function cutTensor(g: FloatGraph, c: CutPoint): number {
  if (c === 'image') return g.inputTensor;
  if (c === 'embedding') return g.embeddingTensor;
  if (c === 'logits') return g.logitsTensor;
  if (c === 'probs') return g.tflite.outputs[0]!;
  const b = g.blocks.find((x) => x.name === c.block);
  if (!b) throw new Error(`tflite import: unknown block '${c.block}' (known: ${g.blocks.map((x) => x.name).join(', ')})`);
  return b.output;
}

/** Spatial size of a block output for an input resolution (SAME padding: ceil division per stride). */
export function spatialAt(g: FloatGraph, tensor: number, inputSize: number): number {
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

/** Feature map shape [h, w, c] of a block output (or the embedding) at an input resolution. */
export function cutShape(g: FloatGraph, c: CutPoint, inputSize: number): number[] {
  const t = cutTensor(g, c);
  const sh = g.shapes[t]!;
  if (t === g.embeddingTensor || t === g.logitsTensor || sh.length !== 4) return [sh[sh.length - 1]!];
  const s = spatialAt(g, t, inputSize);
  return [s, s, sh[3]!];
}
