/**
 * ONNX translation of plumage's SwinV2 layers (HF Swinv2Layer / Swinv2PatchMerging). Static token grids, dynamic
 * batch (-1 in reshapes). Position biases (continuous-position-bias MLP), logit scales and shift masks do not depend
 * on the input: they are computed with the layer's own code at export and stored as constants.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { OnnxGraphBuilder } from './onnx-builder.js';
import { type Converter, constOf, hiddenAct, layerNorm, linear, param } from './onnx-transformer.js';

const LOGIT_SCALE_MAX = Math.log(1 / 0.01);

/** torch.roll of a static axis: element i moves to (i + shift) mod n. */
function roll(g: OnnxGraphBuilder, x: string, shift: number, axis: number, n: number, base: string): string {
  const s = ((shift % n) + n) % n;
  if (s === 0) return x;
  const slice = (a: number, b: number) => g.node('Slice', [x, g.int64(`${base}/a`, [a]), g.int64(`${base}/b`, [b]), g.int64(`${base}/axis`, [axis])], base);
  return g.node('Concat', [slice(n - s, n), slice(0, n - s)], base, { axis });
}

function reshape(g: OnnxGraphBuilder, x: string, shape: number[], base: string): string {
  return g.node('Reshape', [x, g.int64(`${base}/shape`, shape)], base);
}

/** x * rsqrt(max(sum(x^2), 1e-24)) over the last axis. */
function l2Normalize(g: OnnxGraphBuilder, x: string, base: string): string {
  const ss = g.node('ReduceSumSquare', [x], base, { axes: [-1], keepdims: 1 });
  const r = g.node('Reciprocal', [g.node('Sqrt', [g.node('Max', [ss, g.constant(`${base}/eps`, [1e-24], [])], base)], base)], base);
  return g.node('Mul', [x, r], base);
}

export const SWINV2_CONVERTERS: Record<string, Converter> = {
  PlumageSwinv2Block: (g, layer, [xv]) => {
    const L = layer.name;
    const cfg = layer.cfg as { dim: number; numHeads: number; resolution: [number, number]; layerNormEps: number; hiddenAct: string };
    const { dim, numHeads } = cfg;
    const [H, W] = cfg.resolution;
    const ws = layer.window as number;
    const shift = layer.shift as number;
    const x = xv!.name;
    const padB = (ws - (H % ws)) % ws;
    const padR = (ws - (W % ws)) % ws;
    const hp = H + padB;
    const wp = W + padR;
    const n = ws * ws;
    const hd = dim / numHeads;
    const nW = (hp / ws) * (wp / ws);
    const priv = layer as unknown as { constants(hp: number, wp: number): void; positionBias(): tf.Tensor; mask: tf.Tensor | null };
    priv.constants(hp, wp);

    let h = reshape(g, x, [-1, H, W, dim], L);
    if (padB || padR) h = g.node('Pad', [h, g.int64(`${L}/pads`, [0, 0, 0, 0, 0, padB, padR, 0])], L);
    if (shift > 0) h = roll(g, roll(g, h, -shift, 1, hp, L), -shift, 2, wp, L);
    const win = reshape(g, g.node('Transpose', [reshape(g, h, [-1, ws, wp / ws, ws * dim], L)], L, { perm: [0, 2, 1, 3] }), [-1, n, dim], L);
    const heads = (t: string) => g.node('Transpose', [reshape(g, t, [-1, n, numHeads, hd], L)], L, { perm: [0, 2, 1, 3] });
    const q = l2Normalize(g, heads(linear(g, layer, win, 'attention.self.query')), L);
    const k = l2Normalize(g, heads(linear(g, layer, win, 'attention.self.key')), L);
    const v = heads(linear(g, layer, win, 'attention.self.value'));
    let scores = g.node('MatMul', [q, g.node('Transpose', [k], L, { perm: [0, 1, 3, 2] })], L);
    const scale = tf.tidy(() => tf.exp(tf.minimum(param(layer, 'attention.self.logit_scale')!, LOGIT_SCALE_MAX)));
    scores = g.node('Mul', [scores, constOf(g, `${L}/logit_scale`, scale)], L);
    const bias = tf.tidy(() => priv.positionBias());
    scores = g.node('Add', [scores, constOf(g, `${L}/position_bias`, bias)], L);
    tf.dispose([scale, bias]);
    if (priv.mask) {
      const masked = g.node('Add', [reshape(g, scores, [-1, nW, numHeads, n * n], L), constOf(g, `${L}/shift_mask`, priv.mask)], L);
      scores = reshape(g, masked, [-1, numHeads, n, n], L);
    }
    const ctx = g.node('MatMul', [g.node('Softmax', [scores], L, { axis: -1 }), v], L);
    const out = linear(g, layer, reshape(g, g.node('Transpose', [ctx], L, { perm: [0, 2, 1, 3] }), [-1, n, dim], L), 'attention.output.dense');
    let y = reshape(g, g.node('Transpose', [reshape(g, out, [-1, wp / ws, ws, ws * dim], L)], L, { perm: [0, 2, 1, 3] }), [-1, hp, wp, dim], L);
    if (shift > 0) y = roll(g, roll(g, y, shift, 1, hp, L), shift, 2, wp, L);
    if (padB || padR) y = g.node('Slice', [y, g.int64(`${L}/s0`, [0, 0]), g.int64(`${L}/s1`, [H, W]), g.int64(`${L}/sax`, [1, 2])], L);
    const attn = layerNorm(g, reshape(g, y, [-1, H * W, dim], L), param(layer, 'layernorm_before.gamma')!, param(layer, 'layernorm_before.beta')!, cfg.layerNormEps, `${L}/layernorm_before`);
    const hres = g.node('Add', [x, attn], L);
    let m = linear(g, layer, hiddenAct(g, linear(g, layer, hres, 'intermediate.dense'), cfg.hiddenAct, `${L}/act`), 'output.dense');
    m = layerNorm(g, m, param(layer, 'layernorm_after.gamma')!, param(layer, 'layernorm_after.beta')!, cfg.layerNormEps, `${L}/layernorm_after`);
    return { name: g.node('Add', [hres, m], L), rank: 3 };
  },
  PlumageSwinv2PatchMerging: (g, layer, [xv]) => {
    const L = layer.name;
    const cfg = layer.cfg as { dim: number; resolution: [number, number]; eps: number };
    const c = cfg.dim;
    const [H, W] = cfg.resolution;
    let h = reshape(g, xv!.name, [-1, H, W, c], L);
    if (H % 2 || W % 2) h = g.node('Pad', [h, g.int64(`${L}/pads`, [0, 0, 0, 0, 0, H % 2, W % 2, 0])], L);
    const h2 = (H + (H % 2)) / 2;
    const w2 = (W + (W % 2)) / 2;
    const t = reshape(g, h, [-1, 2, w2, 2 * c], L);
    const part = (r: number, col: number) => g.node('Slice', [t, g.int64(`${L}/p0`, [r, col * c]), g.int64(`${L}/p1`, [r + 1, (col + 1) * c]), g.int64(`${L}/pax`, [1, 3])], L);
    const merged = reshape(g, g.node('Concat', [part(0, 0), part(1, 0), part(0, 1), part(1, 1)], L, { axis: 3 }), [-1, h2 * w2, 4 * c], L);
    const red = linear(g, layer, merged, 'reduction');
    return { name: layerNorm(g, red, param(layer, 'norm.gamma')!, param(layer, 'norm.beta')!, cfg.eps, `${L}/norm`), rank: 3 };
  },
};
