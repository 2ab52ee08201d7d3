/**
 * Tensor helpers and index tables shared by the SwinV2 and BEiT layers. Only standard tfjs ops are used so that the
 * layers run (and train) on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';

function swapLast(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  return tf.transpose(x, [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2]);
}

/**
 * (Batched) matMul whose forward and backward passes only issue non-transposed matMuls, with explicit transposes.
 * Same values as tf.matMul(a, b, ta, tb); exists because some backends (wasm) run transposed matMuls — which
 * tf.matMul's own gradient uses — an order of magnitude slower than plain ones.
 */
export function mm(a: tf.Tensor, b: tf.Tensor, ta = false, tb = false): tf.Tensor {
  const f = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const A = ta ? swapLast(a) : a;
    const B = tb ? swapLast(b) : b;
    save([A, B]);
    return {
      value: tf.matMul(A, B),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = Array.isArray(dy) ? dy[0]! : dy;
        const dA = tf.matMul(g, swapLast(saved[1]!));
        const dB = tf.matMul(swapLast(saved[0]!), g);
        return [ta ? swapLast(dA) : dA, tb ? swapLast(dB) : dB];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(a, b);
}

/** x @ kernel (+ bias) over the last axis, for any rank >= 2. kernel is [in, out]. */
export function linear(x: tf.Tensor, kernel: tf.Tensor, bias?: tf.Tensor | null): tf.Tensor {
  const inDim = x.shape[x.rank - 1]!;
  const outDim = kernel.shape[1]!;
  const flat = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  let y: tf.Tensor = mm(flat, kernel);
  if (bias) y = tf.add(y, bias);
  return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

/** Kernel of backends that compute LayerNorm (and its gradient) in one call (torch registers it). */
const FUSED_LAYER_NORM = 'TorchLayerNorm';
/** Kernel of backends that compute exact GELU (and its gradient) in one call (torch registers it). */
const FUSED_GELU = 'TorchGelu';

/** PyTorch LayerNorm over the last axis (biased variance). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  if (x.dtype === 'float32' && tf.getKernel(FUSED_LAYER_NORM, tf.getBackend())) {
    const [y, mean, rstd] = tf.engine().runKernel(FUSED_LAYER_NORM, { x, gamma, beta }, { eps }) as tf.Tensor[];
    tf.dispose([mean!, rstd!]);
    return y!;
  }
  const axis = x.rank - 1;
  const mean = tf.mean(x, axis, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), axis, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

/** Exact (erf) GELU, as torch.nn.functional.gelu / HF hidden_act="gelu". */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (x.dtype === 'float32' && tf.getKernel(FUSED_GELU, tf.getBackend())) return tf.engine().runKernel(FUSED_GELU, { x }) as tf.Tensor;
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** Applies an HF `hidden_act` by name. */
export function activation(name: string, x: tf.Tensor): tf.Tensor {
  switch (name) {
    case 'gelu':
      return gelu(x);
    case 'relu':
      return tf.relu(x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))), 1));
    case 'swish':
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    default:
      throw new Error(`hidden_act '${name}' is not supported (expected gelu, gelu_new, relu or silu)`);
  }
}

/** x / max(||x||_2, 1e-12) over the last axis (torch.nn.functional.normalize), with a gradient that is finite at 0. */
export function l2Normalize(x: tf.Tensor): tf.Tensor {
  const sumSq = tf.sum(tf.square(x), x.rank - 1, true);
  return tf.mul(x, tf.rsqrt(tf.maximum(sumSq, 1e-24)));
}

/** torch.roll along one axis: element i moves to (i + shift) mod n. */
export function roll(x: tf.Tensor, shift: number, axis: number): tf.Tensor {
  const n = x.shape[axis]!;
  const s = ((shift % n) + n) % n;
  if (s === 0) return x;
  const begin = new Array<number>(x.rank).fill(0);
  const size = x.shape.map((d) => d as number);
  const headSize = [...size];
  headSize[axis] = n - s;
  const tailBegin = [...begin];
  tailBegin[axis] = n - s;
  const tailSize = [...size];
  tailSize[axis] = s;
  return tf.concat([tf.slice(x, tailBegin, tailSize), tf.slice(x, begin, headSize)], axis);
}

/** [B, H, W, C] -> [B * nH * nW, ws * ws, C], windows ordered (batch, window row, window col) like HF. */
export function windowPartition(x: tf.Tensor, ws: number): tf.Tensor {
  const [b, h, w, c] = x.shape as number[];
  const nh = h! / ws;
  const nw = w! / ws;
  const t = tf.reshape(x, [b! * nh, ws, nw, ws * c!]);
  return tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [b! * nh * nw, ws * ws, c!]);
}

/** Inverse of windowPartition: [B * nH * nW, ws * ws, C] -> [B, H, W, C]. */
export function windowReverse(x: tf.Tensor, ws: number, b: number, h: number, w: number): tf.Tensor {
  const c = x.shape[x.rank - 1]!;
  const nh = h / ws;
  const nw = w / ws;
  const t = tf.reshape(x, [b * nh, nw, ws, ws * c]);
  return tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [b, h, w, c]);
}

/** SwinV2 relative position index for a ws x ws window: [ws*ws*ws*ws] into the (2ws-1)^2 table (row-major). */
export function swinRelativePositionIndex(wh: number, ww: number): Int32Array {
  const n = wh * ww;
  const out = new Int32Array(n * n);
  for (let i = 0; i < n; i++) {
    const hi = Math.floor(i / ww);
    const wi = i % ww;
    for (let j = 0; j < n; j++) {
      const hj = Math.floor(j / ww);
      const wj = j % ww;
      out[i * n + j] = (hi - hj + wh - 1) * (2 * ww - 1) + (wi - wj + ww - 1);
    }
  }
  return out;
}

/**
 * SwinV2 log-spaced relative coordinate table, [(2wh-1)*(2ww-1), 2], normalised by (pretrained window - 1) when a
 * pretrained window size is given, else by (window - 1); then sign(x) * log2(|8x| + 1) / log2(8). Computed in float32
 * steps like the reference.
 */
export function swinv2RelativeCoordsTable(wh: number, ww: number, pretrained: [number, number]): Float32Array {
  const f = Math.fround;
  const rows = 2 * wh - 1;
  const cols = 2 * ww - 1;
  const out = new Float32Array(rows * cols * 2);
  const normalise = (v: number, p: number, w: number): number => {
    let x = f(v);
    if (p > 0) x = f(x / (p - 1));
    else if (w > 1) x = f(x / (w - 1));
    x = f(x * 8);
    const l = f(Math.log2(f(Math.abs(x) + 1)));
    return f(Math.sign(x) * f(l / 3));
  };
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out[(r * cols + c) * 2] = normalise(r - (wh - 1), pretrained[0], wh);
      out[(r * cols + c) * 2 + 1] = normalise(c - (ww - 1), pretrained[1], ww);
    }
  }
  return out;
}

/**
 * Shifted-window attention mask on the padded map: [nW, N, N] with 0 inside a region and -100 across regions
 * (HF Swinv2Layer.get_attn_mask).
 */
export function swinShiftMask(hp: number, wp: number, ws: number, shift: number): Float32Array {
  const img = new Int32Array(hp * wp);
  const region = (i: number, n: number): number => (i < n - ws ? 0 : i < n - shift ? 1 : 2);
  for (let i = 0; i < hp; i++) for (let j = 0; j < wp; j++) img[i * wp + j] = region(i, hp) * 3 + region(j, wp);
  const nh = hp / ws;
  const nw = wp / ws;
  const n = ws * ws;
  const out = new Float32Array(nh * nw * n * n);
  for (let a = 0; a < nh; a++) {
    for (let b = 0; b < nw; b++) {
      const win = a * nw + b;
      const ids = new Int32Array(n);
      for (let p = 0; p < n; p++) ids[p] = img[(a * ws + Math.floor(p / ws)) * wp + b * ws + (p % ws)]!;
      for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) out[(win * n + p) * n + q] = ids[p] === ids[q] ? 0 : -100;
    }
  }
  return out;
}

/**
 * BEiT relative position index for a wh x ww patch grid plus [CLS]: [(N+1)^2] into a table of
 * (2wh-1)(2ww-1)+3 rows; the last three rows are cls->token, token->cls, cls->cls.
 */
export function beitRelativePositionIndex(wh: number, ww: number): Int32Array {
  const n = wh * ww;
  const numRel = (2 * wh - 1) * (2 * ww - 1) + 3;
  const m = n + 1;
  const out = new Int32Array(m * m);
  for (let i = 0; i < n; i++) {
    const hi = Math.floor(i / ww);
    const wi = i % ww;
    for (let j = 0; j < n; j++) {
      const hj = Math.floor(j / ww);
      const wj = j % ww;
      out[(i + 1) * m + j + 1] = (hi - hj + wh - 1) * (2 * ww - 1) + (wi - wj + ww - 1);
    }
  }
  for (let j = 0; j < m; j++) out[j] = numRel - 3; // row 0: cls -> token
  for (let i = 0; i < m; i++) out[i * m] = numRel - 2; // column 0: token -> cls
  out[0] = numRel - 1;
  return out;
}

/**
 * Returns a function that looks rows of a [T, H] table up by a fixed index (-> [len(index), H]). Small tables use a
 * constant one-hot matrix product (exact, and its gradient is a plain matMul on every backend); large ones use gather.
 */
export function makeTableLookup(index: Int32Array, tableRows: number): { lookup: (table: tf.Tensor) => tf.Tensor; dispose: () => void } {
  if (index.length * tableRows <= 1 << 22) {
    const oh = new Float32Array(index.length * tableRows);
    for (let i = 0; i < index.length; i++) oh[i * tableRows + index[i]!] = 1;
    const m = tf.keep(tf.tensor2d(oh, [index.length, tableRows]));
    return { lookup: (t) => mm(m, t), dispose: () => m.dispose() };
  }
  const idx = tf.keep(tf.tensor1d(index, 'int32'));
  return { lookup: (t) => tf.gather(t, idx), dispose: () => idx.dispose() };
}

/** Stochastic depth: zeroes whole samples with probability `rate` and rescales the rest (training only). */
export function dropPath(x: tf.Tensor, rate: number, training: boolean): tf.Tensor {
  if (!training || rate <= 0) return x;
  const keep = 1 - rate;
  const shape = [x.shape[0]!, ...new Array<number>(x.rank - 1).fill(1)];
  const mask = tf.floor(tf.add(tf.randomUniform(shape), keep));
  return tf.mul(x, tf.div(mask, keep));
}
