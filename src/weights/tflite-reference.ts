/**
 * Minimal uint8 reference interpreter for quantized TFLite graphs made of CONV_2D, DEPTHWISE_CONV_2D, ADD,
 * AVERAGE_POOL_2D, FULLY_CONNECTED, RESHAPE and SOFTMAX, following TFLite's reference integer kernels
 * (tensorflow/lite/kernels/internal/reference: int32 accumulators, QuantizeMultiplier /
 * SaturatingRoundingDoublingHighMul / RoundingDivideByPOT requantization, add with left_shift 20,
 * rounded integer average pool).
 *
 * It exists to check the float rebuild (tflite-dequantize.ts, frozen-forward.ts) against an independent integer implementation.
 * Exception, documented: SOFTMAX is computed in float64 from the dequantized uint8 logits and quantized to the
 * output scale (TFLite uses a fixed-point exp; the two differ by at most about one output step).
 * Batch size 1, NHWC. Pure JavaScript, so slow (about a second per 224x224 MobileNetV2 image).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Activation, BuiltinOp, Padding, type TfliteModel, type TfliteTensor, TensorType, numElements } from './tflite.js';

/** frexp-based QuantizeMultiplier from TFLite: real = q * 2^(shift - 31). */
export function quantizeMultiplier(real: number): { m: number; shift: number } {
  if (real === 0) return { m: 0, shift: 0 };
  let shift = Math.floor(Math.log2(Math.abs(real))) + 1; // frexp exponent: real = f * 2^shift, f in [0.5, 1)
  let f = real / 2 ** shift;
  if (f >= 1) {
    f /= 2;
    shift += 1;
  } else if (f < 0.5) {
    f *= 2;
    shift -= 1;
  }
  let q = Math.round(f * 2 ** 31);
  if (q === 2 ** 31) {
    q /= 2;
    shift += 1;
  }
  return { m: q, shift };
}

/** gemmlowp SaturatingRoundingDoublingHighMul(a, b) for int32 a, b (exact, via 16-bit splitting). */
export function srdhm(a: number, b: number): number {
  if (a === -2147483648 && b === -2147483648) return 2147483647;
  const neg = a < 0 !== b < 0;
  const A = Math.abs(a);
  const B = Math.abs(b);
  const bh = Math.floor(B / 65536);
  const bl = B - bh * 65536;
  const nudge = neg ? 2 ** 30 - 1 : 2 ** 30; // C++ divides toward zero after adding a signed nudge
  const hi = A * bh; // < 2^47, exact
  const lo = A * bl + nudge; // < 2^48, exact
  const loQ = Math.floor(lo / 65536);
  const r = Math.floor((hi + loQ) / 32768);
  return neg ? 0 - r : r;
}

/** gemmlowp RoundingDivideByPOT. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const mask = (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** TFLite MultiplyByQuantizedMultiplier. */
export function mulByQuantizedMultiplier(x: number, m: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(srdhm(x * 2 ** left, m), right);
}

interface QT {
  data: Uint8Array | Int32Array;
  shape: number[];
  scale: number;
  zp: number;
}

function qparams(t: TfliteTensor): { scale: number; zp: number } {
  const q = t.quantization;
  if (!q) return { scale: 1, zp: 0 };
  if (q.scale.length > 1) throw new Error(`reference: per-axis quantization of '${t.name}' is not supported here`);
  return { scale: q.scale[0]!, zp: q.zeroPoint[0] ?? 0 };
}

/** uint8 output range [lo, hi] of a fused activation (TFLite's CalculateActivationRangeQuantized). */
export function actRange(act: Activation | undefined, scale: number, zp: number): [number, number] {
  const qmin = 0;
  const qmax = 255;
  const quant = (v: number) => zp + Math.round(v / scale);
  switch (act ?? Activation.NONE) {
    case Activation.NONE:
      return [qmin, qmax];
    case Activation.RELU:
      return [Math.max(qmin, quant(0)), qmax];
    case Activation.RELU6:
      return [Math.max(qmin, quant(0)), Math.min(qmax, quant(6))];
    case Activation.RELU_N1_TO_1:
      return [Math.max(qmin, quant(-1)), Math.min(qmax, quant(1))];
  }
}

function constTensor(t: TfliteTensor): QT {
  if (!t.data) throw new Error(`reference: '${t.name}' has no data`);
  const { scale, zp } = qparams(t);
  if (t.type === TensorType.UINT8) return { data: t.data, shape: t.shape, scale, zp };
  if (t.type === TensorType.INT32) {
    const n = numElements(t.shape);
    const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const d = new Int32Array(n);
    for (let i = 0; i < n; i++) d[i] = dv.getInt32(4 * i, true);
    return { data: d, shape: t.shape, scale, zp };
  }
  throw new Error(`reference: unsupported constant type ${TensorType[t.type]} for '${t.name}'`);
}

function samePad(inSize: number, k: number, stride: number, outSize: number): number {
  return Math.max(0, Math.floor(((outSize - 1) * stride + k - inSize) / 2));
}

/**
 * Runs the quantized graph on one uint8 NHWC image. Returns every requested tensor (dequantized float32) plus
 * the raw uint8 output tensor.
 */
export function runReference(model: TfliteModel, image: Uint8Array, want: number[] = [], opts: { accelerate?: boolean } = {}): { output: Uint8Array; outputScale: number; outputZp: number; tensors: Map<number, Float32Array> } {
  const T = model.tensors;
  const env = new Map<number, QT>();
  const inT = T[model.inputs[0]!]!;
  if (image.length !== numElements(inT.shape)) throw new Error(`reference: image has ${image.length} values, expected ${numElements(inT.shape)}`);
  env.set(inT.index, { data: image, shape: inT.shape, ...qparams(inT) });
  const get = (i: number): QT => env.get(i) ?? constTensor(T[i]!);
  for (const op of model.operators) {
    const outT = T[op.outputs[0]!]!;
    const oq = qparams(outT);
    const oshape = outT.shape;
    let out: Uint8Array;
    switch (op.opcode) {
      case BuiltinOp.CONV_2D:
      case BuiltinOp.DEPTHWISE_CONV_2D: {
        const x = get(op.inputs[0]!);
        const w = get(op.inputs[1]!);
        const b = op.inputs[2]! >= 0 ? (get(op.inputs[2]!).data as Int32Array) : null;
        const c = op.conv!;
        const [, H, W, C] = x.shape as [number, number, number, number];
        const [, OH, OW, OC] = oshape as [number, number, number, number];
        const dw = op.opcode === BuiltinOp.DEPTHWISE_CONV_2D;
        const KH = w.shape[1]!;
        const KW = w.shape[2]!;
        const padH = c.padding === Padding.SAME ? samePad(H, KH, c.strideH, OH) : 0;
        const padW = c.padding === Padding.SAME ? samePad(W, KW, c.strideW, OW) : 0;
        const { m, shift } = quantizeMultiplier((x.scale * w.scale) / oq.scale);
        const [lo, hi] = actRange(c.activation, oq.scale, oq.zp);
        out = new Uint8Array(OH * OW * OC);
        const accs = opts.accelerate ? accelConv(x, w, dw, c.strideH, c.strideW, c.padding === Padding.SAME ? 'same' : 'valid', OC) : null;
        const xd = x.data as Uint8Array;
        const wd = w.data as Uint8Array;
        const xz = x.zp;
        const wz = w.zp;
        // Precentre inputs and weights as Int32 arrays for speed.
        const xc = accs ? new Int32Array(0) : new Int32Array(xd.length);
        for (let i = 0; i < xc.length; i++) xc[i] = xd[i]! - xz;
        const wc = accs ? new Int32Array(0) : new Int32Array(wd.length);
        for (let i = 0; i < wc.length; i++) wc[i] = wd[i]! - wz;
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            const iy0 = oy * c.strideH - padH;
            const ix0 = ox * c.strideW - padW;
            for (let oc = 0; oc < OC; oc++) {
              let acc = b ? b[oc]! : 0;
              if (accs) acc += accs[(oy * OW + ox) * OC + oc]!;
              else
                for (let ky = 0; ky < KH; ky++) {
                  const iy = iy0 + ky;
                  if (iy < 0 || iy >= H) continue;
                  for (let kx = 0; kx < KW; kx++) {
                    const ix = ix0 + kx;
                    if (ix < 0 || ix >= W) continue;
                    const xb = (iy * W + ix) * C;
                    if (dw) {
                      acc += xc[xb + oc]! * wc[(ky * KW + kx) * OC + oc]!;
                    } else {
                      const wb = ((oc * KH + ky) * KW + kx) * C;
                      for (let ic = 0; ic < C; ic++) acc += xc[xb + ic]! * wc[wb + ic]!;
                    }
                  }
                }
              let v = mulByQuantizedMultiplier(acc, m, shift) + oq.zp;
              v = v < lo ? lo : v > hi ? hi : v;
              out[(oy * OW + ox) * OC + oc] = v;
            }
          }
        }
        break;
      }
      case BuiltinOp.FULLY_CONNECTED: {
        const x = get(op.inputs[0]!);
        const w = get(op.inputs[1]!);
        const b = op.inputs[2]! >= 0 ? (get(op.inputs[2]!).data as Int32Array) : null;
        const [O, I] = w.shape as [number, number];
        const { m, shift } = quantizeMultiplier((x.scale * w.scale) / oq.scale);
        const [lo, hi] = actRange(op.activation, oq.scale, oq.zp);
        out = new Uint8Array(O);
        const xd = x.data as Uint8Array;
        const wd = w.data as Uint8Array;
        for (let o = 0; o < O; o++) {
          let acc = b ? b[o]! : 0;
          for (let i = 0; i < I; i++) acc += (xd[i]! - x.zp) * (wd[o * I + i]! - w.zp);
          let v = mulByQuantizedMultiplier(acc, m, shift) + oq.zp;
          v = v < lo ? lo : v > hi ? hi : v;
          out[o] = v;
        }
        break;
      }
      case BuiltinOp.ADD: {
        const a = get(op.inputs[0]!);
        const bq = get(op.inputs[1]!);
        const leftShift = 20;
        const twiceMax = 2 * Math.max(a.scale, bq.scale);
        const m1 = quantizeMultiplier(a.scale / twiceMax);
        const m2 = quantizeMultiplier(bq.scale / twiceMax);
        const mo = quantizeMultiplier(twiceMax / (2 ** leftShift * oq.scale));
        const [lo, hi] = actRange(op.activation, oq.scale, oq.zp);
        const n = a.data.length;
        out = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          const s1 = mulByQuantizedMultiplier((a.data[i]! - a.zp) * 2 ** leftShift, m1.m, m1.shift);
          const s2 = mulByQuantizedMultiplier((bq.data[i]! - bq.zp) * 2 ** leftShift, m2.m, m2.shift);
          let v = mulByQuantizedMultiplier(s1 + s2, mo.m, mo.shift) + oq.zp;
          v = v < lo ? lo : v > hi ? hi : v;
          out[i] = v;
        }
        break;
      }
      case BuiltinOp.AVERAGE_POOL_2D: {
        const x = get(op.inputs[0]!);
        const p = op.pool!;
        const [, H, W, C] = x.shape as [number, number, number, number];
        const [, OH, OW] = oshape as [number, number, number, number];
        const padH = p.padding === Padding.SAME ? samePad(H, p.filterH, p.strideH, OH) : 0;
        const padW = p.padding === Padding.SAME ? samePad(W, p.filterW, p.strideW, OW) : 0;
        const [lo, hi] = actRange(p.activation, oq.scale, oq.zp);
        out = new Uint8Array(OH * OW * C);
        for (let oy = 0; oy < OH; oy++)
          for (let ox = 0; ox < OW; ox++) {
            const y0 = Math.max(0, oy * p.strideH - padH);
            const y1 = Math.min(H, oy * p.strideH - padH + p.filterH);
            const x0 = Math.max(0, ox * p.strideW - padW);
            const x1 = Math.min(W, ox * p.strideW - padW + p.filterW);
            const count = (y1 - y0) * (x1 - x0);
            for (let ch = 0; ch < C; ch++) {
              let acc = 0;
              for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) acc += x.data[(iy * W + ix) * C + ch]!;
              let v = Math.floor((acc + Math.floor(count / 2)) / count);
              v = v < lo ? lo : v > hi ? hi : v;
              out[(oy * OW + ox) * C + ch] = v;
            }
          }
        break;
      }
      case BuiltinOp.RESHAPE:
      case BuiltinOp.SQUEEZE:
        out = get(op.inputs[0]!).data as Uint8Array;
        break;
      case BuiltinOp.SOFTMAX: {
        const x = get(op.inputs[0]!);
        const beta = op.softmaxBeta ?? 1;
        const n = x.data.length;
        let mx = -Infinity;
        const r = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          r[i] = beta * x.scale * (x.data[i]! - x.zp);
          if (r[i]! > mx) mx = r[i]!;
        }
        let s = 0;
        for (let i = 0; i < n; i++) s += r[i] = Math.exp(r[i]! - mx);
        out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = Math.min(255, Math.max(0, Math.round(r[i]! / s / oq.scale) + oq.zp));
        break;
      }
      default:
        throw new Error(`reference: unsupported operator ${op.opName}`);
    }
    env.set(outT.index, { data: out, shape: oshape, scale: oq.scale, zp: oq.zp });
  }
  const tensors = new Map<number, Float32Array>();
  for (const i of want) {
    const t = env.get(i);
    if (!t) continue;
    tensors.set(i, Float32Array.from(t.data, (v) => t.scale * (v - t.zp)));
  }
  const o = env.get(model.outputs[0]!)!;
  return { output: o.data as Uint8Array, outputScale: o.scale, outputZp: o.zp, tensors };
}

/**
 * Exact integer convolution accumulators sum((q_x - zp_x) * (q_w - zp_w)) computed with float32 tfjs convolutions:
 * the centred weights (in [-255, 255]) are split as 16 * hi + lo with lo in [0, 15] and hi in [-16, 15], so
 * every partial sum of either convolution is an integer below 2^24 (255 * 16 * 960 < 2^22) and float32 holds it
 * exactly whatever the summation order; acc = 16 * conv(x, hi) + conv(x, lo) is then exact. Used by the
 * accelerated mode of runReference; the tests check it against the plain loops bit for bit.
 */
function accelConv(x: QT, w: QT, depthwise: boolean, sh: number, sw: number, pad: 'same' | 'valid', OC: number): Float64Array {
  const [, H, W, C] = x.shape as [number, number, number, number];
  const KH = w.shape[1]!;
  const KW = w.shape[2]!;
  const wd = w.data as Uint8Array;
  const n = wd.length;
  const hiArr = new Float32Array(n);
  const loArr = new Float32Array(n);
  // TFLite layouts: conv [O,KH,KW,I] -> tfjs [KH,KW,I,O]; depthwise [1,KH,KW,C] is already [KH,KW,C,1] in memory.
  const I = depthwise ? 1 : C;
  for (let i = 0; i < n; i++) {
    const v = wd[i]! - w.zp;
    const lo = ((v % 16) + 16) % 16;
    const hi = (v - lo) / 16;
    let j = i;
    if (!depthwise) {
      const o = Math.floor(i / (KH * KW * I));
      const r = i % (KH * KW * I); // (ky*KW + kx)*I + ic
      j = r * OC + o;
    }
    hiArr[j] = hi;
    loArr[j] = lo;
  }
  const res = tf.tidy(() => {
    const xt = tf.tensor4d(Float32Array.from(x.data as Uint8Array, (v) => v - x.zp), [1, H, W, C]);
    const shape: [number, number, number, number] = depthwise ? [KH, KW, C, 1] : [KH, KW, C, OC];
    const f = (k: Float32Array) => {
      const kt = tf.tensor4d(k, shape);
      return depthwise ? tf.depthwiseConv2d(xt, kt, [sh, sw], pad) : tf.conv2d(xt, kt, [sh, sw], pad);
    };
    return [f(hiArr), f(loArr)];
  });
  const h = res[0]!.dataSync();
  const l = res[1]!.dataSync();
  tf.dispose(res);
  const out = new Float64Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = 16 * h[i]! + l[i]!;
  return out;
}
