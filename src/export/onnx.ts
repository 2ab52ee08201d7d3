/**
 * ONNX export (opset 17), written from the tfjs layer graph: each layer becomes one or a few ONNX nodes with the
 * layer's weights as initializers. Input `image`: float32 NHWC [N, S, S, 3] in [0, 1] (the same tensor plumage and
 * the tfjs export take); the graph transposes it to NCHW once and runs NCHW inside (ONNX's native conv layout).
 * Outputs: `logits` [N, C] and `probs` (their softmax). Unknown layer classes are refused by name.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../util/errors.js';
import type { ExportMetadata } from './metadata.js';
import { OnnxGraphBuilder } from './onnx-builder.js';
import { SWINV2_CONVERTERS } from './onnx-swinv2.js';
import { TRANSFORMER_CONVERTERS as BEIT_CONVERTERS, type Value as TValue } from './onnx-transformer.js';

const TRANSFORMER_CONVERTERS = { ...BEIT_CONVERTERS, ...SWINV2_CONVERTERS };

export const ONNX_OPSET = 17;

/** A graph value: its name and the rank of the tfjs tensor (rank-4 values are held in NCHW). */
type Value = TValue;

type AnyLayer = tfl.layers.Layer & Record<string, unknown>;

/** Emits the nodes of a tfjs activation function name. */
function activation(g: OnnxGraphBuilder, x: string, act: string | undefined, base: string, rank: number): string {
  switch (act ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return g.node('Relu', [x], base);
    case 'relu6':
      return g.node('Clip', [x, g.constant(`${base}/zero`, [0], []), g.constant(`${base}/six`, [6], [])], base);
    case 'sigmoid':
      return g.node('Sigmoid', [x], base);
    case 'tanh':
      return g.node('Tanh', [x], base);
    case 'elu':
      return g.node('Elu', [x], base);
    case 'swish':
      return g.node('Mul', [x, g.node('Sigmoid', [x], base)], base);
    case 'softmax':
      if (rank !== 2) throw new UserError(`export --format onnx: ${base}: softmax over a rank-${rank} tensor is not supported`);
      return g.node('Softmax', [x], base, { axis: -1 });
    default:
      throw new UserError(`export --format onnx: ${base}: activation '${act}' has no ONNX translation here`);
  }
}

/** Activation name of a layer (tfjs keeps the function object; its class name is the keras name). */
function activationName(layer: AnyLayer): string | undefined {
  const a = layer.activation as { getClassName?: () => string } | undefined;
  const n = a?.getClassName?.();
  return n === undefined ? undefined : ({ Linear: 'linear', Relu: 'relu', Relu6: 'relu6', Sigmoid: 'sigmoid', Tanh: 'tanh', Elu: 'elu', Swish: 'swish', Softmax: 'softmax' } as Record<string, string>)[n] ?? n;
}

/** ONNX pads [top, left, bottom, right] reproducing TF's SAME (extra row/column at the end) or VALID. */
function pads(inShape: number[], kernel: number[], strides: number[], dilation: number[], padding: string): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  const begin: number[] = [];
  const end: number[] = [];
  for (let d = 0; d < 2; d++) {
    const n = inShape[d]!;
    const out = Math.ceil(n / strides[d]!);
    const total = Math.max((out - 1) * strides[d]! + (kernel[d]! - 1) * dilation[d]! + 1 - n, 0);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  }
  return [...begin, ...end];
}

/** A weight as float32 data with its array transposed by `perm` (tfjs HWIO -> ONNX OIHW etc.). */
function weight(t: tf.Tensor, perm?: number[]): { data: Float32Array; dims: number[] } {
  const x = perm ? tf.transpose(t, perm) : t;
  const out = { data: x.dataSync() as Float32Array, dims: x.shape };
  if (x !== t) x.dispose();
  return out;
}

const pair = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]) : [v as number, v as number]);

function convert(g: OnnxGraphBuilder, layer: AnyLayer, ins: Value[]): Value {
  const cls = layer.getClassName();
  const name = layer.name;
  const x = ins[0]!;
  const w = layer.getWeights();
  switch (cls) {
    case 'Conv2D':
    case 'DepthwiseConv2D': {
      const inShape = (layer.inboundNodes[0]!.inputTensors[0]!.shape as number[]).slice(1, 3);
      const ks = pair(layer.kernelSize);
      const st = pair(layer.strides);
      const dil = pair(layer.dilationRate ?? 1);
      const depthwise = cls === 'DepthwiseConv2D';
      const k = depthwise ? weight(w[0]!, [2, 3, 0, 1]) : weight(w[0]!, [3, 2, 0, 1]);
      let dims = k.dims;
      let group = 1;
      if (depthwise) {
        // [C, M, kh, kw] -> [C*M, 1, kh, kw]: output channel c*M+m, as in tfjs.
        group = dims[0]!;
        dims = [dims[0]! * dims[1]!, 1, dims[2]!, dims[3]!];
      }
      const inputs = [x.name, g.constant(`${name}/kernel`, k.data, dims)];
      const bias = layer.useBias ? w[1] : undefined;
      if (bias) inputs.push(g.constant(`${name}/bias`, weight(bias).data, [bias.shape[0]!]));
      const y = g.node('Conv', inputs, name, { kernel_shape: ks, strides: st, dilations: dil, group, pads: pads(inShape, ks, st, dil, layer.padding as string) });
      return { name: activation(g, y, activationName(layer), name, 4), rank: 4 };
    }
    case 'BatchNormalization':
    case 'PlumageBatchNorm': {
      if (w.length !== 4) throw new UserError(`export --format onnx: ${name}: batch norm without scale/center is not supported`);
      const axis = (layer.axis as number | undefined) ?? -1;
      if (axis !== -1 && axis !== x.rank - 1) throw new UserError(`export --format onnx: ${name}: batch norm over axis ${axis} is not supported (channels-last only)`);
      const c = w[0]!.shape[0]!;
      const [gamma, beta, mean, variance] = w.map((t, i) => g.constant(`${name}/${['gamma', 'beta', 'mean', 'var'][i]}`, weight(t).data, [c]));
      return { name: g.node('BatchNormalization', [x.name, gamma!, beta!, mean!, variance!], name, { epsilon: { float: layer.epsilon as number } }), rank: x.rank };
    }
    case 'ReLU': {
      const max = layer.maxValue as number | undefined;
      if (max == null) return { name: g.node('Relu', [x.name], name), rank: x.rank };
      return { name: g.node('Clip', [x.name, g.constant(`${name}/zero`, [0], []), g.constant(`${name}/max`, [max], [])], name), rank: x.rank };
    }
    case 'Activation':
      return { name: activation(g, x.name, activationName(layer), name, x.rank), rank: x.rank };
    case 'Add':
      return { name: ins.slice(1).reduce((acc, v) => g.node('Add', [acc, v.name], name), x.name), rank: x.rank };
    case 'GlobalAveragePooling2D':
      return { name: g.node('Flatten', [g.node('GlobalAveragePool', [x.name], name)], name, { axis: 1 }), rank: 2 };
    case 'Dropout':
    case 'SeededDropout':
      return x;
    case 'Flatten':
      if (x.rank === 2) return x;
      // tfjs flattens NHWC (H, W, C order): back to NHWC first.
      return { name: g.node('Flatten', [g.node('Transpose', [x.name], name, { perm: [0, 2, 3, 1] })], name, { axis: 1 }), rank: 2 };
    case 'Dense': {
      if (x.rank !== 2) throw new UserError(`export --format onnx: ${name}: dense over a rank-${x.rank} tensor is not supported`);
      const k = weight(w[0]!);
      const inputs = [x.name, g.constant(`${name}/kernel`, k.data, k.dims)];
      if (layer.useBias) inputs.push(g.constant(`${name}/bias`, weight(w[1]!).data, [k.dims[1]!]));
      return { name: activation(g, g.node('Gemm', inputs, name), activationName(layer), name, 2), rank: 2 };
    }
    case 'Rescaling': {
      const scaled = g.node('Mul', [x.name, g.constant(`${name}/scale`, [layer.scale as number], [])], name);
      return { name: g.node('Add', [scaled, g.constant(`${name}/offset`, [layer.offset as number], [])], name), rank: x.rank };
    }
    case 'Softmax':
      return { name: activation(g, x.name, 'softmax', name, x.rank), rank: x.rank };
    default: {
      const t = TRANSFORMER_CONVERTERS[cls];
      if (t) return t(g, layer, ins);
      throw new UserError(`export --format onnx: layer '${name}' (${cls}) has no ONNX translation`);
    }
  }
}

/** Checks every layer class has a translation before any work; names the architecture and the classes otherwise. */
export function checkOnnxExportable(model: tfl.LayersModel, architecture: string): void {
  const known = new Set(['InputLayer', 'Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'PlumageBatchNorm', 'ReLU', 'Activation', 'Add', 'GlobalAveragePooling2D', 'Dropout', 'SeededDropout', 'Flatten', 'Dense', 'Rescaling', 'Softmax', ...Object.keys(TRANSFORMER_CONVERTERS)]);
  const bad = [...new Set(model.layers.map((l) => l.getClassName()).filter((c) => !known.has(c)))];
  if (bad.length) {
    throw new UserError(
      `export --format onnx: architecture '${architecture}' cannot be exported: its layers ${bad.join(', ')} have no ONNX translation ` +
        '(every architecture in the registry exports: resnet-*, mobilenetv2-*, fine-tuned MobileNetV2 runs, beit-*, swinv2-*)',
    );
  }
}

/** The ONNX model bytes of a single-input, single-output LayersModel. */
export function toOnnx(model: tfl.LayersModel, meta: ExportMetadata): Uint8Array {
  checkOnnxExportable(model, meta.model);
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new UserError(`export --format onnx: '${meta.model}' has ${model.inputs.length} inputs / ${model.outputs.length} outputs (one of each supported)`);
  const g = new OnnxGraphBuilder();
  const values = new Map<number, Value>();
  const inShape = model.inputs[0]!.shape.slice(1) as number[];
  g.fresh('image');
  values.set(model.inputs[0]!.id, { name: g.node('Transpose', ['image'], 'to_nchw', { perm: [0, 3, 1, 2] }), rank: 4 });
  for (const layer of model.layers as AnyLayer[]) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) throw new UserError(`export --format onnx: layer '${layer.name}' is applied ${layer.inboundNodes.length} times (shared layers are not supported)`);
    const node = layer.inboundNodes[0]!;
    const ins = node.inputTensors.map((t) => {
      const v = values.get(t.id);
      if (!v) throw new Error(`export --format onnx: ${layer.name}: input ${t.name} not computed yet`);
      return v;
    });
    values.set(node.outputTensors[0]!.id, convert(g, layer, ins));
  }
  const out = values.get(model.outputs[0]!.id)!;
  if (out.rank !== 2) throw new UserError(`export --format onnx: '${meta.model}' output has rank ${out.rank}; a [N, classes] output is expected`);
  const c = meta.classes.length;
  g.node('Identity', [out.name], 'logits', {}, 'logits');
  g.node('Softmax', ['logits'], 'probs', { axis: -1 }, 'probs');
  return g.encode({
    opset: ONNX_OPSET,
    producer: 'plumage',
    graphName: meta.model.replace(/[^A-Za-z0-9_-]/g, '_'),
    input: { name: 'image', dims: [-1, ...inShape] },
    outputs: [
      { name: 'logits', dims: [-1, c] },
      { name: 'probs', dims: [-1, c] },
    ],
    docString: 'plumage bird classifier. Input image: float32 NHWC [N, S, S, 3], RGB in [0, 1]. Outputs: logits, probs.',
    metadata: { plumage: JSON.stringify(meta) },
  });
}
