/**
 * ONNX translations of plumage's transformer layers (BEiT, and the pieces SwinV2 shares). Token tensors [B, N, C]
 * keep tfjs's layout; weights are read from the layers themselves, and position-bias tables are expanded to their
 * [1, heads, M, M] bias with the layer's own code at export time (constants in the graph).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../util/errors.js';
import type { OnnxGraphBuilder } from './onnx-builder.js';

export interface Value {
  name: string;
  rank: number;
}

type Layer = tfl.layers.Layer & Record<string, unknown>;
export type Converter = (g: OnnxGraphBuilder, layer: Layer, ins: Value[]) => Value;

/** A weight of a plumage ParamLayer by its name, or null. */
export function param(layer: Layer, name: string): tf.Tensor | null {
  return (layer as unknown as { wOpt(n: string): tf.Tensor | null }).wOpt(name);
}

export function constOf(g: OnnxGraphBuilder, base: string, t: tf.Tensor): string {
  return g.constant(base, t.dataSync() as Float32Array, t.shape);
}

export function layerNorm(g: OnnxGraphBuilder, x: string, gamma: tf.Tensor, beta: tf.Tensor, eps: number, base: string): string {
  return g.node('LayerNormalization', [x, constOf(g, `${base}/gamma`, gamma), constOf(g, `${base}/beta`, beta)], base, { axis: -1, epsilon: { float: eps } });
}

/** x @ kernel [+ bias] over the last axis. */
export function linear(g: OnnxGraphBuilder, layer: Layer, x: string, name: string): string {
  const k = param(layer, `${name}.kernel`)!;
  const y = g.node('MatMul', [x, constOf(g, `${layer.name}/${name}.kernel`, k)], `${layer.name}/${name}`);
  const b = param(layer, `${name}.bias`);
  return b ? g.node('Add', [y, constOf(g, `${layer.name}/${name}.bias`, b)], `${layer.name}/${name}`) : y;
}

export function hiddenAct(g: OnnxGraphBuilder, x: string, act: string, base: string): string {
  switch (act) {
    case 'gelu': {
      // Exact GELU (opset 17 has no Gelu op): 0.5 x (1 + erf(x / sqrt 2)).
      const erf = g.node('Erf', [g.node('Mul', [x, g.constant(`${base}/rsqrt2`, [Math.SQRT1_2], [])], base)], base);
      return g.node('Mul', [g.node('Mul', [x, g.constant(`${base}/half`, [0.5], [])], base), g.node('Add', [erf, g.constant(`${base}/one`, [1], [])], base)], base);
    }
    case 'relu':
      return g.node('Relu', [x], base);
    case 'swish':
    case 'silu':
      return g.node('Mul', [x, g.node('Sigmoid', [x], base)], base);
    default:
      throw new UserError(`export --format onnx: ${base}: hidden_act '${act}' has no ONNX translation here`);
  }
}

/** NCHW [B, C, H, W] -> tokens [B, H*W, C] in row-major patch order. */
function toTokens(g: OnnxGraphBuilder, x: string, c: number, base: string): string {
  return g.node('Transpose', [g.node('Reshape', [x, g.int64(`${base}/shape`, [0, c, -1])], base)], base, { perm: [0, 2, 1] });
}

export const TRANSFORMER_CONVERTERS: Record<string, Converter> = {
  PlumagePixelNormalize: (g, layer, [x]) => {
    // (x - mean) / std written as x * a + b, with a and b read off the layer itself.
    const probe = (v: number) => (layer.call(tf.fill([1, 1, 1, 3], v), {}) as tf.Tensor).dataSync();
    const z = probe(0);
    const o = probe(1);
    const a = g.constant(`${layer.name}/scale`, Array.from(o, (v, i) => v - z[i]!), [1, 3, 1, 1]);
    return { name: g.node('Add', [g.node('Mul', [x!.name, a], layer.name), g.constant(`${layer.name}/shift`, Array.from(z), [1, 3, 1, 1])], layer.name), rank: 4 };
  },
  PlumagePatchEmbed: (g, layer, [x]) => {
    const cfg = layer.cfg as { patchSize: number; dim: number };
    const k = tf.transpose(param(layer, 'kernel')!, [3, 2, 0, 1]);
    const p = cfg.patchSize;
    const y = g.node('Conv', [x!.name, constOf(g, `${layer.name}/kernel`, k), constOf(g, `${layer.name}/bias`, param(layer, 'bias')!)], layer.name, { kernel_shape: [p, p], strides: [p, p], pads: [0, 0, 0, 0] });
    k.dispose();
    return { name: toTokens(g, y, cfg.dim, layer.name), rank: 3 };
  },
  PlumageToTokens: (g, layer, [x]) => {
    const c = (layer.inboundNodes[0]!.inputTensors[0]!.shape as number[])[3]!;
    return { name: toTokens(g, x!.name, c, layer.name), rank: 3 };
  },
  PlumageBeitTokens: (g, layer, [x]) => {
    const cls = param(layer, 'cls_token')!;
    const dim = cls.shape[2]!;
    const batch = g.node('Slice', [g.node('Shape', [x!.name], layer.name), g.int64(`${layer.name}/s0`, [0]), g.int64(`${layer.name}/s1`, [1])], layer.name);
    const shape = g.node('Concat', [batch, g.int64(`${layer.name}/rest`, [1, dim])], layer.name, { axis: 0 });
    let t = g.node('Concat', [g.node('Expand', [constOf(g, `${layer.name}/cls_token`, cls), shape], layer.name), x!.name], layer.name, { axis: 1 });
    const pos = param(layer, 'position_embeddings');
    if (pos) t = g.node('Add', [t, constOf(g, `${layer.name}/position_embeddings`, pos)], layer.name);
    return { name: t, rank: 3 };
  },
  PlumageBeitRelativePositionBias: (g, layer) => {
    const bias = layer.call([], {}) as tf.Tensor;
    const name = constOf(g, `${layer.name}/bias`, bias);
    bias.dispose();
    return { name, rank: 4 };
  },
  PlumageBeitBlock: (g, layer, ins) => {
    const cfg = layer.cfg as { dim: number; numHeads: number; layerNormEps: number; hiddenAct: string };
    const { dim, numHeads } = cfg;
    const hd = dim / numHeads;
    const n = (layer.inboundNodes[0]!.inputTensors[0]!.shape as number[])[1]!;
    const x = ins[0]!.name;
    const L = layer.name;
    const heads = (t: string) => g.node('Transpose', [g.node('Reshape', [t, g.int64(`${L}/heads`, [0, n, numHeads, hd])], L)], L, { perm: [0, 2, 1, 3] });
    const ln1 = layerNorm(g, x, param(layer, 'layernorm_before.gamma')!, param(layer, 'layernorm_before.beta')!, cfg.layerNormEps, `${L}/layernorm_before`);
    const q = heads(linear(g, layer, ln1, 'attention.attention.query'));
    const k = heads(linear(g, layer, ln1, 'attention.attention.key'));
    const v = heads(linear(g, layer, ln1, 'attention.attention.value'));
    let scores = g.node('Div', [g.node('MatMul', [q, g.node('Transpose', [k], L, { perm: [0, 1, 3, 2] })], L), g.constant(`${L}/sqrt_hd`, [Math.sqrt(hd)], [])], L);
    const table = param(layer, 'attention.attention.relative_position_bias.relative_position_bias_table');
    if (table) {
      const bias = (layer.rel as { apply(t: tf.Tensor): tf.Tensor }).apply(table);
      scores = g.node('Add', [scores, constOf(g, `${L}/relative_position_bias`, bias)], L);
      bias.dispose();
    }
    if (ins[1]) scores = g.node('Add', [scores, ins[1].name], L);
    const ctx = g.node('MatMul', [g.node('Softmax', [scores], L, { axis: -1 }), v], L);
    const merged = g.node('Reshape', [g.node('Transpose', [ctx], L, { perm: [0, 2, 1, 3] }), g.int64(`${L}/merge`, [0, n, dim])], L);
    let a = linear(g, layer, merged, 'attention.output.dense');
    const l1 = param(layer, 'lambda_1');
    if (l1) a = g.node('Mul', [a, constOf(g, `${L}/lambda_1`, l1)], L);
    const h = g.node('Add', [x, a], L);
    let m = layerNorm(g, h, param(layer, 'layernorm_after.gamma')!, param(layer, 'layernorm_after.beta')!, cfg.layerNormEps, `${L}/layernorm_after`);
    m = linear(g, layer, hiddenAct(g, linear(g, layer, m, 'intermediate.dense'), cfg.hiddenAct, `${L}/act`), 'output.dense');
    const l2 = param(layer, 'lambda_2');
    if (l2) m = g.node('Mul', [m, constOf(g, `${L}/lambda_2`, l2)], L);
    return { name: g.node('Add', [h, m], L), rank: 3 };
  },
  PlumageLayerNorm: (g, layer, [x]) => ({ name: layerNorm(g, x!.name, param(layer, 'gamma')!, param(layer, 'beta')!, layer.eps as number, layer.name), rank: x!.rank }),
  PlumageTokenPool: (g, layer, [x]) => {
    const mode = layer.mode as string;
    const L = layer.name;
    if (mode === 'mean') return { name: g.node('ReduceMean', [x!.name], L, { axes: [1], keepdims: 0 }), rank: 2 };
    const n = (layer.inboundNodes[0]!.inputTensors[0]!.shape as number[])[1]!;
    const [s, e] = mode === 'first' ? [0, 1] : [1, n];
    const sl = g.node('Slice', [x!.name, g.int64(`${L}/start`, [s]), g.int64(`${L}/end`, [e]), g.int64(`${L}/axis`, [1])], L);
    return { name: g.node('ReduceMean', [sl], L, { axes: [1], keepdims: 0 }), rank: 2 };
  },
};
