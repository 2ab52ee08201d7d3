/**
 * Rebuilds (part of) a float graph as trainable float32 tfjs layers: between two cut points (the image or a block
 * output, up to a block output, the pooled embedding, the logits or the probabilities), at any square input size.
 * Layer names are the graph's node names (plus an optional prefix), so weights match by name across cuts.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type CutPoint, cutTensor, type FloatGraph, spatialAt } from './tflite-graph.js';

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
