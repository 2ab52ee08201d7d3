/**
 * Dequantizes a parsed uint8 TFLite image classifier (CONV_2D, DEPTHWISE_CONV_2D, ADD, AVERAGE_POOL_2D,
 * FULLY_CONNECTED / 1x1 CONV head, RESHAPE, SOFTMAX) into a float graph: weights to float32 in tfjs layouts, ops
 * named after the MobileNetV2 block they belong to.
 */
import type { ActName, FloatGraph, GraphNode } from './tflite-graph.js';
import { Activation, BuiltinOp, dequantize, Padding, parseTflite, type TfliteModel, type TfliteTensor } from './tflite.js';

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
