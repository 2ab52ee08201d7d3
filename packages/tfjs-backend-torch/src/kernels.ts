// tfjs kernels implemented with ATen operators. tfjs tensors are NHWC; ATen convolution/pooling take
// NCHW shapes, so NHWC data is handed over as a permuted view (which ATen sees as channels_last
// memory format: no copy, and oneDNN picks its channels_last kernels).
import {
  type DataType,
  type KernelConfig,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
  backend_util,
  registerKernel,
  slice_util,
  util,
} from '@tensorflow/tfjs-core';
import type { Aten, TorchBackend } from './backend.js';
import { DTYPE_CODE, ST } from './backend.js';
import type { Handle } from './native.js';
import { installFusedGradients } from './gradients.js';

type Impl = (ctx: Ctx) => Handle | Handle[];
interface Ctx {
  inputs: NamedTensorInfoMap;
  attrs: NamedAttrMap;
  b: TorchBackend;
  a: Aten;
  /** Handle of a named input (owned by the backend). */
  h(name: string): Handle;
  info(name: string): TensorInfo;
}

const LONG = ST.int64;
const FLOAT = ST.float32;
const INT = ST.int32;
const BOOL = ST.bool;
const CHANNELS_LAST_MF = 2; // c10::MemoryFormat::ChannelsLast

export const kernelNames: string[] = [];
/**
 * Per-kernel wall time (ms) and call counts, collected when PLUMAGE_TORCH_PROFILE=1; with PLUMAGE_TORCH_PROFILE=shapes
 * each entry is also split by the input shapes ("BatchMatMul 16x197x768,1x768x2304").
 */
export const profile = new Map<string, { ms: number; calls: number }>();
const profiling = process.env.PLUMAGE_TORCH_PROFILE === '1' || process.env.PLUMAGE_TORCH_PROFILE === 'shapes';
const profileShapes = process.env.PLUMAGE_TORCH_PROFILE === 'shapes';
const fusedGradients = process.env.PLUMAGE_TORCH_FUSED_GRADS !== '0';
const impls = new Map<string, { impl: Impl; dtype?: (ctx: Ctx) => DataType }>();

function def(name: string, impl: Impl, dtype?: (ctx: Ctx) => DataType): void {
  impls.set(name, { impl, dtype });
}

export function registerTorchKernels(backendName: string): void {
  // Identity shares the data (as tfjs's cpu backend does): the engine relies on it when saving tensors for gradients.
  registerKernel({
    kernelName: 'Identity',
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x!;
      (backend as TorchBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  kernelNames.push('Identity');
  for (const [kernelName, { impl, dtype }] of impls) {
    const config: KernelConfig = {
      kernelName,
      backendName,
      kernelFunc: ({ inputs, attrs, backend }) => {
        const b = backend as TorchBackend;
        const a = b.aten;
        const inputHandles = new Set<Handle>();
        const ctx: Ctx = {
          inputs,
          attrs: attrs ?? {},
          b,
          a,
          h: (n) => {
            const hh = b.handle(inputs[n]!);
            inputHandles.add(hh);
            return hh;
          },
          info: (n) => inputs[n]!,
        };
        if (fusedGradients) installFusedGradients(); // a few map lookups: see installFusedGradients
        const t0 = profiling ? performance.now() : 0;
        const result = a.scope(() => impl(ctx));
        const want = dtype?.(ctx);
        const wrap = (h: Handle) => b.adopt(inputHandles.has(h) ? b.native.dup(h) : h, want);
        const out = Array.isArray(result) ? result.map(wrap) : wrap(result);
        if (profiling) {
          const key = profileShapes ? `${kernelName} ${Object.values(inputs).map((t) => (t ? t.shape.join('x') : '-')).join(',')}` : kernelName;
          const p = profile.get(key) ?? { ms: 0, calls: 0 };
          p.ms += performance.now() - t0;
          p.calls++;
          profile.set(key, p);
        }
        return out;
      },
    };
    registerKernel(config);
    kernelNames.push(kernelName);
  }
}

// ---------------------------------------------------------------- helpers
/** ReLU or ReLU6 applied in place on a tensor the kernel owns (`y` must not be an input's storage). */
function activationInPlace(a: Aten, y: Handle, activation: string): Handle {
  if (activation === 'relu') return a.t('relu_', y);
  if (activation === 'relu6') return a.t('hardtanh_', y, 0, 6);
  throw new Error(`TorchBatchNormActTraining: activation must be 'relu' or 'relu6', got '${activation}'`);
}
const perm = (a: Aten, x: Handle, p: number[]) => a.t('permute', x, p);
const nhwcToNchw = (a: Aten, x: Handle) => perm(a, x, [0, 3, 1, 2]);
const nchwToNhwc = (a: Aten, x: Handle) => perm(a, x, [0, 2, 3, 1]);
const cast = (a: Aten, x: Handle, code: number) => a.t('to.dtype', x, code);
const scalarT = (a: Aten, v: number, code: number) => a.t('scalar_tensor', v, code, null, a.dev);
const reshape = (a: Aten, x: Handle, shape: number[]) => a.t('reshape', x, shape);

function applyActivation(a: Aten, y: Handle, activation: string | undefined, preluW: Handle | null, leakyAlpha: number): Handle {
  switch (activation ?? 'linear') {
    case 'linear':
      return y;
    // ReLU and ReLU6 in place: the fused kernels call this on the product / convolution they just computed.
    case 'relu':
      return a.t('relu_', y);
    case 'relu6':
      return a.t('clamp_', y, 0, 6);
    case 'elu':
      return a.t('elu', y);
    case 'sigmoid':
      return a.t('sigmoid', y);
    case 'leakyrelu':
      return a.t('leaky_relu', y, leakyAlpha);
    case 'prelu':
      return a.t('where.self', a.t('lt.Scalar', y, 0), a.t('mul.Tensor', y, preluW), y);
    default:
      throw new Error(`torch backend: unknown fused activation ${activation}`);
  }
}

/** Padding such that ATen's symmetric-padding arithmetic yields tfjs's output size for windows starting at -top. */
function geometry(inH: number, inW: number, outH: number, outW: number, info: backend_util.Conv2DInfo) {
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const bottom = Math.max(0, (outH - 1) * info.strideHeight + info.effectiveFilterHeight - inH - top);
  const right = Math.max(0, (outW - 1) * info.strideWidth + info.effectiveFilterWidth - inW - left);
  return { top, left, bottom, right, symmetric: top === bottom && left === right };
}

interface ConvGeom {
  /** NCHW view of the (maybe explicitly padded) input. */
  x: Handle;
  pad: [number, number];
  g: ReturnType<typeof geometry>;
}

function convInput(a: Aten, xNchw: Handle, info: backend_util.Conv2DInfo, padValue = 0, maxSymPad = Infinity): ConvGeom {
  const g = geometry(info.inHeight, info.inWidth, info.outHeight, info.outWidth, info);
  if (g.symmetric && g.top <= maxSymPad && g.left <= maxSymPad) return { x: xNchw, pad: [g.top, g.left], g };
  const x = a.t('constant_pad_nd', xNchw, [g.left, g.right, g.top, g.bottom], padValue);
  return { x, pad: [0, 0], g };
}

/** Removes explicit padding from a gradient w.r.t. a padded NCHW input. */
function unpad(a: Aten, gx: Handle, geom: ConvGeom): Handle {
  if (geom.pad[0] === geom.g.top && geom.pad[1] === geom.g.left && geom.g.symmetric) return gx;
  const g = geom.g;
  return a.t('constant_pad_nd', gx, [-g.left, -g.right, -g.top, -g.bottom], 0);
}

const isNCHW = (attrs: NamedAttrMap) => (attrs.dataFormat as string | undefined) === 'NCHW';

function conv2dInfo(ctx: Ctx, xShape: number[], filterShape: number[], depthwise: boolean): backend_util.Conv2DInfo {
  const { strides, pad, dilations, dimRoundingMode } = ctx.attrs as Record<string, never>;
  const fmt = isNCHW(ctx.attrs) ? 'channelsFirst' : 'channelsLast';
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    depthwise,
    fmt,
  );
}

/** tfjs filter [fh, fw, in, out] -> ATen weight [out, in, fh, fw]; depthwise [fh, fw, in, m] -> [in*m, 1, fh, fw]. */
function torchWeight(a: Aten, filter: Handle, filterShape: number[], depthwise: boolean): Handle {
  if (!depthwise) return perm(a, filter, [3, 2, 0, 1]);
  const [fh, fw, ci, m] = filterShape as [number, number, number, number];
  return a.t('unsqueeze', perm(a, reshape(a, filter, [fh, fw, ci * m]), [2, 0, 1]), 1);
}

function conv(ctx: Ctx, x: Handle, filter: Handle, depthwise: boolean, bias: Handle | null): Handle {
  const { a } = ctx;
  const xi = ctx.info('x');
  const fi = ctx.info('filter');
  const info = conv2dInfo(ctx, xi.shape, fi.shape, depthwise);
  const nchw = isNCHW(ctx.attrs);
  const geom = convInput(a, nchw ? x : nhwcToNchw(a, x), info);
  const w = torchWeight(a, filter, fi.shape, depthwise);
  const groups = depthwise ? info.inChannels : 1;
  const y = a.t('convolution', geom.x, w, bias, [info.strideHeight, info.strideWidth], geom.pad, [info.dilationHeight, info.dilationWidth], false, [0, 0], groups);
  return nchw ? y : nchwToNhwc(a, y);
}

function convBackpropInput(ctx: Ctx, depthwise: boolean): Handle {
  const { a } = ctx;
  const inputShape = ctx.attrs.inputShape as number[];
  const fi = ctx.info('filter');
  const info = conv2dInfo(ctx, inputShape, fi.shape, depthwise);
  const nchw = isNCHW(ctx.attrs);
  const dy = nchw ? ctx.h('dy') : nhwcToNchw(a, ctx.h('dy'));
  const g = geometry(info.inHeight, info.inWidth, info.outHeight, info.outWidth, info);
  const sym = g.symmetric;
  const hp = sym ? info.inHeight : info.inHeight + g.top + g.bottom;
  const wp = sym ? info.inWidth : info.inWidth + g.left + g.right;
  const n = info.batchSize;
  const c = info.inChannels;
  // Only the input's shape matters for grad_input; an uninitialised channels_last tensor keeps oneDNN on its NHWC path.
  const dummy = nchw ? a.t('empty.memory_format', [n, c, hp, wp], null, null, a.dev) : nhwcToNchw(a, a.t('empty.memory_format', [n, hp, wp, c], null, null, a.dev));
  const w = torchWeight(a, ctx.h('filter'), fi.shape, depthwise);
  const groups = depthwise ? info.inChannels : 1;
  const [gx] = a.ts('convolution_backward', dy, dummy, w, null, [info.strideHeight, info.strideWidth], sym ? [g.top, g.left] : [0, 0], [info.dilationHeight, info.dilationWidth], false, [0, 0], groups, [true, false, false]);
  const gxu = sym ? gx! : a.t('constant_pad_nd', gx, [-g.left, -g.right, -g.top, -g.bottom], 0);
  return nchw ? gxu : nchwToNhwc(a, gxu);
}

function convBackpropFilter(ctx: Ctx, depthwise: boolean): Handle {
  const { a } = ctx;
  const filterShape = ctx.attrs.filterShape as number[];
  const xi = ctx.info('x');
  const info = conv2dInfo(ctx, xi.shape, filterShape, depthwise);
  const nchw = isNCHW(ctx.attrs);
  const x = nchw ? ctx.h('x') : nhwcToNchw(a, ctx.h('x'));
  const dy = nchw ? ctx.h('dy') : nhwcToNchw(a, ctx.h('dy'));
  const geom = convInput(a, x, info);
  const [fh, fw, ci, co] = filterShape as [number, number, number, number];
  const wShape = depthwise ? [ci * co, 1, fh, fw] : [co, ci, fh, fw];
  const dummyW = a.t('empty.memory_format', wShape, null, null, a.dev);
  const groups = depthwise ? info.inChannels : 1;
  const [, gw] = a.ts('convolution_backward', dy, geom.x, dummyW, null, [info.strideHeight, info.strideWidth], geom.pad, [info.dilationHeight, info.dilationWidth], false, [0, 0], groups, [false, true, false]);
  if (!depthwise) return perm(a, gw!, [2, 3, 1, 0]);
  return reshape(a, perm(a, a.t('squeeze.dim', gw, 1), [1, 2, 0]), [fh, fw, ci, co]);
}

function parseAxes(axis: unknown, shape: number[]): number[] {
  return util.parseAxisParam(axis as number | number[], shape);
}

function reduce(ctx: Ctx, axisAttr: string, f: (x: Handle, axes: number[], keep: boolean) => Handle, prep?: (x: Handle) => Handle): Handle {
  const xi = ctx.info('x');
  const axes = parseAxes(ctx.attrs[axisAttr], xi.shape);
  let x = ctx.h('x');
  if (prep) x = prep(x);
  if (axes.length === 0) return x;
  return f(x, axes, Boolean(ctx.attrs.keepDims));
}

/** Reduces one axis at a time (for ATen ops that take a single dim), highest axis first. */
function reduceEach(a: Aten, op: string, x: Handle, axes: number[], keep: boolean): Handle {
  let y = x;
  for (const ax of [...axes].sort((p, q) => q - p)) y = a.t(op, y, ax, keep);
  return y;
}

function poolInfo(ctx: Ctx, xShape: number[]): backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = ctx.attrs as Record<string, never>;
  return backend_util.computePool2DInfo(xShape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
}

// ---------------------------------------------------------------- elementwise
const unary: Record<string, string> = {
  Abs: 'abs',
  Acos: 'acos',
  Acosh: 'acosh',
  Asin: 'asin',
  Asinh: 'asinh',
  Atan: 'atan',
  Atanh: 'atanh',
  Ceil: 'ceil',
  Cos: 'cos',
  Cosh: 'cosh',
  Erf: 'erf',
  Exp: 'exp',
  Expm1: 'expm1',
  Floor: 'floor',
  Log: 'log',
  Log1p: 'log1p',
  Neg: 'neg',
  Reciprocal: 'reciprocal',
  Relu: 'relu',
  Round: 'round',
  Rsqrt: 'rsqrt',
  Sigmoid: 'sigmoid',
  Sin: 'sin',
  Sinh: 'sinh',
  Sqrt: 'sqrt',
  Square: 'square',
  Tan: 'tan',
  Tanh: 'tanh',
  Elu: 'elu',
  Selu: 'selu',
};
for (const [k, op] of Object.entries(unary)) def(k, (c) => c.a.t(op, c.h('x')));
const floatUnary = new Set(['Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'Cos', 'Cosh', 'Erf', 'Exp', 'Expm1', 'Log', 'Log1p', 'Reciprocal', 'Rsqrt', 'Sigmoid', 'Sin', 'Sinh', 'Sqrt', 'Tan', 'Tanh', 'Elu', 'Selu']);
for (const k of floatUnary) {
  def(k, (c) => c.a.t(unary[k]!, c.info('x').dtype === 'float32' ? c.h('x') : cast(c.a, c.h('x'), FLOAT)));
}
def('Sign', (c) => {
  const x = c.h('x');
  // tfjs: sign(NaN) = 0
  return c.info('x').dtype === 'float32' ? c.a.t('nan_to_num', c.a.t('sign', x), 0) : c.a.t('sign', x);
});
def('Softplus', (c) => c.a.t('softplus', c.h('x')));
def('Relu6', (c) => c.a.t('clamp', c.h('x'), 0, 6));
def('LeakyRelu', (c) => {
  const x = c.h('x');
  if (c.info('x').dtype === 'float32') return c.a.t('leaky_relu', x, c.attrs.alpha as number);
  const xf = cast(c.a, x, FLOAT);
  return c.a.t('where.self', c.a.t('lt.Scalar', xf, 0), c.a.t('mul.Scalar', xf, c.attrs.alpha as number), xf);
}, () => 'float32');
def('Prelu', (c) => {
  const x = c.h('x');
  return c.a.t('where.self', c.a.t('lt.Scalar', x, 0), c.a.t('mul.Tensor', x, c.h('alpha')), x);
});
def('Step', (c) => {
  const { a } = c;
  const x = c.h('x');
  const alpha = c.attrs.alpha as number;
  const y = a.t('where.ScalarSelf', a.t('le.Scalar', x, 0), alpha, a.t('ones_like', x));
  return a.t('where.self', a.t('isnan', x), x, y);
}, (c) => c.info('x').dtype);
def('EluGrad', (c) => {
  const { a } = c;
  const y = c.h('y');
  const dy = c.h('dy');
  return a.t('where.self', a.t('lt.Scalar', y, 0), a.t('mul.Tensor', dy, a.t('add.Scalar', y, 1)), dy);
});
def('IsNan', (c) => c.a.t('isnan', c.h('x')));
def('IsInf', (c) => c.a.t('isinf', c.h('x')));
def('IsFinite', (c) => c.a.t('isfinite', c.h('x')));
def('LogicalNot', (c) => c.a.t('logical_not', c.h('x')));
def('ClipByValue', (c) => c.a.t('clamp', c.h('x'), c.attrs.clipValueMin as number, c.attrs.clipValueMax as number), (c) => c.info('x').dtype);
def('Cast', (c) => {
  const to = c.attrs.dtype as string;
  if (!(to in DTYPE_CODE)) throw new Error(`torch backend: Cast to ${to} is not supported`);
  return cast(c.a, c.h('x'), DTYPE_CODE[to]!);
}, (c) => c.attrs.dtype as DataType);
def('ZerosLike', (c) => c.a.t('zeros_like', c.h('x')), (c) => c.info('x').dtype);
def('OnesLike', (c) => c.a.t('ones_like', c.h('x')), (c) => c.info('x').dtype);

const binary: Record<string, string> = {
  Add: 'add.Tensor',
  Sub: 'sub.Tensor',
  Multiply: 'mul.Tensor',
  Maximum: 'maximum',
  Minimum: 'minimum',
  Atan2: 'atan2',
  Equal: 'eq.Tensor',
  NotEqual: 'ne.Tensor',
  Less: 'lt.Tensor',
  LessEqual: 'le.Tensor',
  Greater: 'gt.Tensor',
  GreaterEqual: 'ge.Tensor',
  LogicalAnd: 'logical_and',
  LogicalOr: 'logical_or',
  LogicalXor: 'logical_xor',
  Mod: 'remainder.Tensor',
};
for (const [k, op] of Object.entries(binary)) def(k, (c) => c.a.t(op, c.h('a'), c.h('b')));
const sameDtypeOut = (c: Ctx) => (c.info('a').dtype === 'bool' ? 'int32' : c.info('a').dtype);
for (const k of ['Add', 'Sub', 'Multiply', 'Maximum', 'Minimum', 'Mod']) {
  const op = binary[k]!;
  def(k, (c) => {
    const { a } = c;
    let x = c.h('a');
    let y = c.h('b');
    if (c.info('a').dtype === 'bool') x = cast(a, x, INT);
    if (c.info('b').dtype === 'bool') y = cast(a, y, INT);
    return a.t(op, x, y);
  }, (c) => (c.info('a').dtype === 'float32' || c.info('b').dtype === 'float32' ? 'float32' : sameDtypeOut(c)));
}
def('RealDiv', (c) => c.a.t('div.Tensor', c.h('a'), c.h('b')), () => 'float32');
def('FloorDiv', (c) => c.a.t('div.Tensor_mode', c.h('a'), c.h('b'), 'floor'), (c) => c.info('a').dtype as DataType);
def('Pow', (c) => c.a.t('pow.Tensor_Tensor', c.h('a'), c.h('b')), (c) => c.info('a').dtype as DataType);
def('SquaredDifference', (c) => c.a.t('square', c.a.t('sub.Tensor', c.h('a'), c.h('b'))), (c) => c.info('a').dtype as DataType);
def('Select', (c) => {
  const { a } = c;
  let cond = c.h('condition');
  const ci = c.info('condition');
  const ti = c.info('t');
  if (ci.shape.length === 1 && ti.shape.length > 1) cond = reshape(a, cond, [ci.shape[0]!, ...ti.shape.slice(1).map(() => 1)]);
  if (ci.dtype !== 'bool') cond = cast(a, cond, BOOL);
  return a.t('where.self', cond, c.h('t'), c.h('e'));
}, (c) => c.info('t').dtype);
def('AddN', (c) => {
  const { a } = c;
  const n = Object.keys(c.inputs).length;
  let acc = c.h('0');
  for (let i = 1; i < n; i++) acc = a.t('add.Tensor', acc, c.h(String(i)));
  return acc;
});

// ---------------------------------------------------------------- reductions
def('Sum', (c) => reduce(c, 'axis', (x, ax, k) => c.a.t('sum.dim_IntList', x, ax, k), (x) => (c.info('x').dtype === 'bool' ? cast(c.a, x, INT) : x)), (c) => (c.info('x').dtype === 'float32' ? 'float32' : 'int32'));
def('Mean', (c) => reduce(c, 'axis', (x, ax, k) => c.a.t('mean.dim', x, ax, k), (x) => (c.info('x').dtype === 'float32' ? x : cast(c.a, x, FLOAT))), () => 'float32');
def('Max', (c) => reduce(c, 'reductionIndices', (x, ax, k) => c.a.t('amax', x, ax, k)), (c) => c.info('x').dtype);
def('Min', (c) => reduce(c, 'axis', (x, ax, k) => c.a.t('amin', x, ax, k)), (c) => c.info('x').dtype);
def('Prod', (c) => reduce(c, 'axis', (x, ax, k) => reduceEach(c.a, 'prod.dim_int', x, ax, k), (x) => (c.info('x').dtype === 'bool' ? cast(c.a, x, INT) : x)), (c) => (c.info('x').dtype === 'float32' ? 'float32' : 'int32'));
def('All', (c) => reduce(c, 'axis', (x, ax, k) => reduceEach(c.a, 'all.dim', x, ax, k)), () => 'bool');
def('Any', (c) => reduce(c, 'axis', (x, ax, k) => reduceEach(c.a, 'any.dim', x, ax, k)), () => 'bool');
for (const [k, op] of [
  ['ArgMax', 'argmax'],
  ['ArgMin', 'argmin'],
] as const) {
  def(k, (c) => {
    const xi = c.info('x');
    const axis = parseAxes(c.attrs.axis, xi.shape)[0] ?? 0;
    let x = c.h('x');
    if (xi.dtype === 'bool') x = cast(c.a, x, INT);
    // tfjs ignores NaN; ATen treats NaN as the extreme.
    else if (xi.dtype === 'float32') x = c.a.t('nan_to_num', x, op === 'argmax' ? -Infinity : Infinity, Infinity, -Infinity);
    return c.a.t(op, x, axis, false);
  }, () => 'int32');
}
def('Softmax', (c) => c.a.t('softmax.int', c.h('logits'), c.attrs.dim as number));
def('Cumsum', (c) => cumulative(c, 'cumsum', 0));
def('Cumprod', (c) => cumulative(c, 'cumprod', 1));
function cumulative(c: Ctx, op: string, identity: number): Handle {
  const { a } = c;
  const xi = c.info('x');
  const axis = c.attrs.axis as number;
  const x = c.h('x');
  const rev = Boolean(c.attrs.reverse);
  let y = rev ? a.t('flip', x, [axis]) : x;
  y = a.t(op, y, axis);
  if (c.attrs.exclusive) {
    const n = xi.shape[axis]!;
    const first = a.t('full_like', a.t('narrow', y, axis, 0, 1), identity);
    y = a.t('cat', [first, a.t('narrow', y, axis, 0, n - 1)], axis);
  }
  return rev ? a.t('flip', y, [axis]) : y;
}

// ---------------------------------------------------------------- shapes
def('Reshape', (c) => {
  const xi = c.info('x');
  const shape = util.inferFromImplicitShape(c.attrs.shape as number[], util.sizeFromShape(xi.shape));
  return reshape(c.a, c.h('x'), shape);
}, (c) => c.info('x').dtype);
def('Transpose', (c) => perm(c.a, c.h('x'), c.attrs.perm as number[]), (c) => c.info('x').dtype);
def('Slice', (c) => {
  const xi = c.info('x');
  const [begin, size] = slice_util.parseSliceParams(xi, c.attrs.begin as number[], c.attrs.size as number[]);
  let y = c.h('x');
  for (let d = 0; d < xi.shape.length; d++) if (begin![d] !== 0 || size![d] !== xi.shape[d]) y = c.a.t('narrow', y, d, begin![d]!, size![d]!);
  return y;
}, (c) => c.info('x').dtype);
def('StridedSlice', (c) => {
  const { a } = c;
  const xi = c.info('x');
  const at = c.attrs as Record<string, never>;
  const s = slice_util.sliceInfo(xi.shape, at.begin, at.end, at.strides, at.beginMask, at.endMask, at.ellipsisMask, at.newAxisMask, at.shrinkAxisMask);
  let y = c.h('x');
  if (!s.isIdentity) {
    const sizes = slice_util.computeOutShape(s.begin, s.end, s.strides);
    for (let d = 0; d < xi.shape.length; d++) {
      const n = Math.max(0, sizes[d]!);
      const b = s.begin[d]!;
      const st = s.strides[d]!;
      if (n === xi.shape[d] && b === 0 && st === 1) continue;
      if (n === 0) y = a.t('narrow', y, d, 0, 0);
      else if (st === 1) y = a.t('narrow', y, d, b, n);
      else if (st > 0) y = a.t('slice.Tensor', y, d, b, b + (n - 1) * st + 1, st);
      else y = a.t('index_select', y, d, a.t('arange.start_step', b, b + n * st, st, LONG, null, a.dev));
    }
  }
  return reshape(a, y, s.finalShape);
}, (c) => c.info('x').dtype);
def('Concat', (c) => {
  const n = Object.keys(c.inputs).length;
  const hs: Handle[] = [];
  const first = c.info('0');
  const axis = util.parseAxisParam(c.attrs.axis as number, first.shape)[0]!;
  for (let i = 0; i < n; i++) hs.push(c.h(String(i)));
  return c.a.t('cat', hs, axis);
}, (c) => c.info('0').dtype);
def('Pack', (c) => {
  const n = Object.keys(c.inputs).length;
  const hs: Handle[] = [];
  for (let i = 0; i < n; i++) hs.push(c.h(String(i)));
  let axis = c.attrs.axis as number;
  if (axis < 0) axis += c.info('0').shape.length + 1;
  for (let i = 1; i < n; i++) {
    if (c.info(String(i)).dtype !== c.info('0').dtype) throw new Error('All tensors passed to stack must have matching dtypes');
  }
  return c.a.t('stack', hs, axis);
}, (c) => c.info('0').dtype);
def('Unpack', (c) => {
  const vi = c.info('value');
  let axis = c.attrs.axis as number;
  if (axis < 0) axis += vi.shape.length;
  return c.a.ts('unbind.int', c.h('value'), axis);
}, (c) => c.info('value').dtype);
def('SplitV', (c) => {
  const xi = c.info('x');
  const axis = util.parseAxisParam(c.attrs.axis as number, xi.shape)[0]!;
  const sizes = backend_util.prepareSplitSize(xi as never, c.attrs.numOrSizeSplits as number | number[], axis);
  return c.a.ts('split_with_sizes', c.h('x'), sizes, axis);
}, (c) => c.info('x').dtype);
def('Tile', (c) => c.a.t('repeat', c.h('x'), c.attrs.reps as number[]), (c) => c.info('x').dtype);
def('BroadcastTo', (c) => {
  const { a } = c;
  const shape = c.attrs.shape as number[];
  const xi = c.info('x');
  const x = reshape(a, c.h('x'), [...new Array(shape.length - xi.shape.length).fill(1), ...xi.shape]);
  return a.t('clone', a.t('expand', x, shape));
}, (c) => c.info('x').dtype);
def('PadV2', (c) => {
  const paddings = c.attrs.paddings as [number, number][];
  const flat: number[] = [];
  for (let d = paddings.length - 1; d >= 0; d--) flat.push(paddings[d]![0], paddings[d]![1]);
  return c.a.t('constant_pad_nd', c.h('x'), flat, c.attrs.constantValue as number);
}, (c) => c.info('x').dtype);
def('MirrorPad', (c) => {
  const { a } = c;
  const xi = c.info('x');
  const paddings = c.attrs.paddings as [number, number][];
  const offset = c.attrs.mode === 'reflect' ? 0 : 1;
  let y = c.h('x');
  paddings.forEach(([before, after], d) => {
    if (before === 0 && after === 0) return;
    const n = xi.shape[d]!;
    const idx = new Int32Array(before + n + after);
    for (let i = 0; i < idx.length; i++) {
      let j = i - before;
      if (j < 0) j = -j - offset;
      else if (j >= n) j = 2 * n - 2 - j + offset;
      idx[i] = j;
    }
    y = a.t('index_select', y, d, a.from(idx, [idx.length], INT));
  });
  return y;
}, (c) => c.info('x').dtype);
def('Reverse', (c) => {
  const xi = c.info('x');
  const dims = util.parseAxisParam(c.attrs.dims as number[], xi.shape);
  return dims.length === 0 ? c.h('x') : c.a.t('flip', c.h('x'), dims);
}, (c) => c.info('x').dtype);
def('GatherV2', (c) => {
  const { a } = c;
  const xi = c.info('x');
  const ii = c.info('indices');
  const axis = util.parseAxisParam(c.attrs.axis as number, xi.shape)[0]!;
  let batchDims = (c.attrs.batchDims as number) ?? 0;
  if (batchDims < 0) batchDims += ii.shape.length;
  const info = backend_util.segment_util.collectGatherOpShapeInfo(xi as never, ii as never, axis, batchDims);
  const idx = cast(a, c.h('indices'), LONG);
  if (batchDims === 0) {
    const y = a.t('index_select', c.h('x'), axis, reshape(a, idx, [-1]));
    return reshape(a, y, info.outputShape);
  }
  const { batchSize: B, outerSize: O, dimSize: D, sliceSize: S } = info;
  const I = util.sizeFromShape(ii.shape) / B;
  const x4 = reshape(a, c.h('x'), [B * O * D, S]);
  // flat row = (b*O + o)*D + idx[b,i]
  const bo = reshape(a, a.t('mul.Scalar', a.t('arange', B * O, LONG, null, a.dev), D), [B, O, 1]);
  const rows = a.t('add.Tensor', bo, reshape(a, idx, [B, 1, I]));
  const y = a.t('index_select', x4, 0, reshape(a, rows, [-1]));
  return reshape(a, y, info.outputShape);
}, (c) => c.info('x').dtype);
def('GatherNd', (c) => {
  const { a } = c;
  const pi = c.info('params');
  const ii = c.info('indices');
  const k = ii.shape[ii.shape.length - 1]!;
  const strides = new Int32Array(k);
  let s = 1;
  for (let d = k - 1; d >= 0; d--) {
    strides[d] = s;
    s *= pi.shape[d]!;
  }
  const rest = pi.shape.slice(k);
  const flat = a.t('sum.dim_IntList', a.t('mul.Tensor', cast(a, c.h('indices'), LONG), a.from(strides, [k], INT)), [-1], false);
  const p2 = reshape(a, c.h('params'), [s, util.sizeFromShape(rest)]);
  const y = a.t('index_select', p2, 0, reshape(a, flat, [-1]));
  return reshape(a, y, [...ii.shape.slice(0, -1), ...rest]);
}, (c) => c.info('params').dtype);
def('ScatterNd', (c) => {
  const { a } = c;
  const ii = c.info('indices');
  const ui = c.info('updates');
  const shape = c.attrs.shape as number[];
  const k = ii.shape.length === 1 ? 1 : ii.shape[ii.shape.length - 1]!;
  const strides = new Int32Array(k);
  let s = 1;
  for (let d = k - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  const sliceSize = util.sizeFromShape(shape.slice(k));
  const idx = reshape(a, cast(a, c.h('indices'), LONG), [-1, k]);
  const flat = reshape(a, a.t('sum.dim_IntList', a.t('mul.Tensor', idx, a.from(strides, [k], INT)), [-1], false), [-1]);
  const zeros = a.t('zeros', [s, sliceSize], DTYPE_CODE[ui.dtype], null, a.dev);
  const y = a.t('index_add', zeros, 0, flat, reshape(a, c.h('updates'), [-1, sliceSize]));
  return reshape(a, y, shape);
}, (c) => c.info('updates').dtype);
def('UnsortedSegmentSum', (c) => {
  const { a } = c;
  const xi = c.info('x');
  const si = c.info('segmentIds');
  const n = c.attrs.numSegments as number;
  const rest = xi.shape.slice(si.shape.length);
  const sliceSize = util.sizeFromShape(rest);
  // Ids outside [0, n) are dropped (tfjs semantics): route them to an extra row that is cut off.
  const zeros = a.t('zeros', [n + 1, sliceSize], DTYPE_CODE[xi.dtype], null, a.dev);
  const ids = reshape(a, cast(a, c.h('segmentIds'), LONG), [-1]);
  const safe = a.t('where.ScalarOther', a.t('logical_and', a.t('ge.Scalar', ids, 0), a.t('lt.Scalar', ids, n)), ids, n);
  const y = a.t('index_add', zeros, 0, safe, reshape(a, c.h('x'), [-1, sliceSize]));
  return reshape(a, a.t('narrow', y, 0, 0, n), [n, ...rest]);
}, (c) => c.info('x').dtype);
def('OneHot', (c) => {
  const { a } = c;
  const depth = c.attrs.depth as number;
  const dtype = (c.attrs.dtype as string) ?? 'int32';
  const idx = a.t('unsqueeze', cast(a, c.h('indices'), LONG), -1);
  const hit = a.t('eq.Tensor', idx, a.t('arange', depth, LONG, null, a.dev));
  const code = DTYPE_CODE[dtype] ?? FLOAT;
  return a.t('where.self', hit, scalarT(a, c.attrs.onValue as number, code), scalarT(a, c.attrs.offValue as number, code));
}, (c) => ((c.attrs.dtype as DataType) ?? 'int32'));
def('Range', (c) => {
  const { start, stop, dtype } = c.attrs as { start: number; stop: number; step: number; dtype: string };
  let step = c.attrs.step as number;
  // tfjs's range semantics (ops/range.ts / cpu rangeImpl)
  if (stop < start && step === 1) step = -1;
  const empty = start === stop || (start < stop && step < 0) || (stop < start && step > 1);
  const n = empty ? 0 : Math.abs(Math.ceil((stop - start) / step));
  if (dtype === 'int32') return c.a.t('arange.start_step', start, start + n * step, step, INT, null, c.a.dev);
  // tfjs computes start + i * step
  return c.a.t('add.Scalar', c.a.t('mul.Scalar', c.a.t('arange', n, FLOAT, null, c.a.dev), step), start);
}, (c) => c.attrs.dtype as DataType);
def('LinSpace', (c) => c.a.t('linspace', c.attrs.start as number, c.attrs.stop as number, c.attrs.num as number, FLOAT, null, c.a.dev), () => 'float32');
def('Fill', (c) => {
  const dtype = (c.attrs.dtype as string) ?? 'float32';
  if (!(dtype in DTYPE_CODE)) throw new Error(`torch backend: Fill with dtype ${dtype} is not supported`);
  return c.a.t('full', c.attrs.shape as number[], c.attrs.value as number, DTYPE_CODE[dtype], null, c.a.dev);
}, (c) => ((c.attrs.dtype as DataType) ?? 'float32'));
def('Einsum', (c) => {
  const n = Object.keys(c.inputs).length;
  const hs: Handle[] = [];
  for (let i = 0; i < n; i++) hs.push(c.h(String(i)));
  // tfjs's validation (same errors as other backends, incl. its unsupported cases)
  const { allDims, summedDims, idDims } = backend_util.decodeEinsumEquation(c.attrs.equation as string, n);
  backend_util.checkEinsumDimSizes(allDims.length, idDims, hs.map((_, i) => c.info(String(i))) as never);
  void summedDims;
  return c.a.t('einsum', c.attrs.equation as string, hs);
});
def('TopK', (c) => {
  // A stable descending sort keeps the lower index first among equal values, as tfjs specifies.
  const k = c.attrs.k as number;
  const [v, i] = c.a.ts('sort.stable', c.h('x'), true, -1, true);
  return [c.a.t('narrow', v, -1, 0, k), cast(c.a, c.a.t('narrow', i, -1, 0, k), INT)];
});
def('Where', (c) => {
  const { a } = c;
  let x = c.h('condition');
  if (c.info('condition').dtype !== 'bool') x = a.t('ne.Scalar', x, 0);
  return cast(a, a.t('nonzero', x), INT);
}, () => 'int32');

// ---------------------------------------------------------------- matmul
function matmul(c: Ctx, aName: string, bName: string): Handle {
  const { a } = c;
  let x = c.h(aName);
  let y = c.h(bName);
  if (c.attrs.transposeA) x = a.t('transpose.int', x, -1, -2);
  if (c.attrs.transposeB) y = a.t('transpose.int', y, -1, -2);
  // OpenBLAS runs single-threaded by default (native.ts: inside libtorch's OpenMP regions its own threads would
  // oversubscribe the cores), but a matrix product is called outside them: it gets all of libtorch's threads.
  const n = c.b.native.getNumThreads();
  if (n > 1) c.b.native.setBlasThreads(n);
  try {
    return a.t('matmul', x, y);
  } finally {
    if (n > 1) c.b.native.setBlasThreads(1);
  }
}
def('BatchMatMul', (c) => {
  const ra = c.info('a').shape.length;
  const rb = c.info('b').shape.length;
  if (ra < 2 || rb < 2) throw new Error(`Error in matMul: the input tensors must be at least 2D, but they are ${ra}D and ${rb}D.`);
  return matmul(c, 'a', 'b');
});
def('_FusedMatMul', (c) => {
  const { a } = c;
  let y = matmul(c, 'a', 'b');
  if (c.inputs.bias) y = a.t('add.Tensor', y, c.h('bias'));
  const prelu = c.inputs.preluActivationWeights ? c.h('preluActivationWeights') : null;
  return applyActivation(a, y, c.attrs.activation as string, prelu, (c.attrs.leakyreluAlpha as number) ?? 0.2);
});

// ---------------------------------------------------------------- convolutions
def('Conv2D', (c) => conv(c, c.h('x'), c.h('filter'), false, null));
def('DepthwiseConv2dNative', (c) => conv(c, c.h('x'), c.h('filter'), true, null));
def('Conv2DBackpropInput', (c) => convBackpropInput(c, false));
def('Conv2DBackpropFilter', (c) => convBackpropFilter(c, false));
def('DepthwiseConv2dNativeBackpropInput', (c) => convBackpropInput(c, true));
def('DepthwiseConv2dNativeBackpropFilter', (c) => convBackpropFilter(c, true));
for (const [k, depthwise] of [
  ['FusedConv2D', false],
  ['FusedDepthwiseConv2D', true],
] as const) {
  def(k, (c) => {
    const { a } = c;
    const bi = c.inputs.bias;
    const nchw = isNCHW(c.attrs);
    const outC = depthwise ? c.info('filter').shape[2]! * c.info('filter').shape[3]! : c.info('filter').shape[3]!;
    const biasInConv = bi != null && bi.shape.length === 1 && bi.shape[0] === outC;
    let y = conv(c, c.h('x'), c.h('filter'), depthwise, biasInConv ? c.h('bias') : null);
    if (bi && !biasInConv) {
      let bh = c.h('bias');
      if (nchw && bi.shape.length === 1) bh = reshape(a, bh, [-1, 1, 1]);
      y = a.t('add.Tensor', y, bh);
    }
    let prelu = c.inputs.preluActivationWeights ? c.h('preluActivationWeights') : null;
    if (prelu !== null && nchw && c.info('preluActivationWeights').shape.length === 1) prelu = reshape(a, prelu, [-1, 1, 1]);
    return applyActivation(a, y, c.attrs.activation as string, prelu, (c.attrs.leakyreluAlpha as number) ?? 0.2);
  });
}

// ---------------------------------------------------------------- pooling
def('MaxPool', (c) => {
  const { a } = c;
  const xi = c.info('x');
  const info = poolInfo(c, xi.shape);
  if (info.filterWidth === 1 && info.filterHeight === 1 && util.arraysEqual(info.inShape, info.outShape)) return c.h('x');
  const geom = convInput(a, nhwcToNchw(a, c.h('x')), info, -Infinity, Math.floor(Math.min(info.filterHeight, info.filterWidth) / 2));
  const y = a.t('max_pool2d', geom.x, [info.filterHeight, info.filterWidth], [info.strideHeight, info.strideWidth], geom.pad, [1, 1], false);
  return nchwToNhwc(a, y);
});
def('MaxPoolGrad', (c) => {
  const { a } = c;
  const xi = c.info('input');
  const info = poolInfo(c, xi.shape);
  const geom = convInput(a, nhwcToNchw(a, c.h('input')), info, -Infinity, Math.floor(Math.min(info.filterHeight, info.filterWidth) / 2));
  const k = [info.filterHeight, info.filterWidth];
  const s = [info.strideHeight, info.strideWidth];
  const [, idx] = a.ts('max_pool2d_with_indices', geom.x, k, s, geom.pad, [1, 1], false);
  const gx = a.t('max_pool2d_with_indices_backward', nhwcToNchw(a, c.h('dy')), geom.x, k, s, geom.pad, [1, 1], false, idx);
  return nchwToNhwc(a, unpad(a, gx, geom));
});
/** Sum over each window and the number of real (unpadded) elements in it, for asymmetric padding. */
function avgCounts(a: Aten, info: backend_util.Conv2DInfo, geom: ConvGeom): Handle {
  const ones = a.t('ones', [1, 1, info.inHeight, info.inWidth], FLOAT, null, a.dev);
  const g = geom.g;
  const onesP = a.t('constant_pad_nd', ones, [g.left, g.right, g.top, g.bottom], 0);
  // Windows entirely in the padding average to 0 (tfjs), not 0/0.
  return a.t('clamp_min', a.t('avg_pool2d', onesP, [info.filterHeight, info.filterWidth], [info.strideHeight, info.strideWidth], [0, 0], false, true, 1), 1);
}
def('AvgPool', (c) => {
  const { a } = c;
  const xi = c.info('x');
  const info = poolInfo(c, xi.shape);
  if (info.filterWidth === 1 && info.filterHeight === 1 && util.arraysEqual(info.inShape, info.outShape)) return c.h('x');
  const k = [info.filterHeight, info.filterWidth];
  const s = [info.strideHeight, info.strideWidth];
  const geom = convInput(a, nhwcToNchw(a, c.h('x')), info, 0, Math.floor(Math.min(info.filterHeight, info.filterWidth) / 2));
  if (geom.pad[0] === geom.g.top && geom.g.symmetric) {
    return nchwToNhwc(a, a.t('avg_pool2d', geom.x, k, s, geom.pad, false, false, null));
  }
  const sum = a.t('avg_pool2d', geom.x, k, s, [0, 0], false, true, 1);
  return nchwToNhwc(a, a.t('div.Tensor', sum, avgCounts(a, info, geom)));
});
def('AvgPoolGrad', (c) => {
  // tfjs's AvgPoolGrad divides every window by the full filter size (also at padded borders), unlike the forward pass.
  const { a } = c;
  const xi = c.info('input');
  const info = poolInfo(c, xi.shape);
  const k = [info.filterHeight, info.filterWidth];
  const s = [info.strideHeight, info.strideWidth];
  const x = nhwcToNchw(a, c.h('input'));
  const dy = nhwcToNchw(a, c.h('dy'));
  const geom = convInput(a, x, info, 0, Math.floor(Math.min(info.filterHeight, info.filterWidth) / 2));
  if (geom.pad[0] === geom.g.top && geom.g.symmetric) {
    return nchwToNhwc(a, a.t('avg_pool2d_backward', dy, geom.x, k, s, geom.pad, false, true, null));
  }
  const g = a.t('div.Scalar', dy, info.filterHeight * info.filterWidth);
  const gx = a.t('avg_pool2d_backward', g, geom.x, k, s, [0, 0], false, true, 1);
  return nchwToNhwc(a, unpad(a, gx, geom));
});

// ---------------------------------------------------------------- normalisation
def('FusedBatchNorm', (c) => {
  const { a } = c;
  const eps = (c.attrs.varianceEpsilon as number) ?? 0.001;
  let inv = a.t('rsqrt', a.t('add.Scalar', c.h('variance'), eps));
  if (c.inputs.scale) inv = a.t('mul.Tensor', inv, c.h('scale'));
  let shift = a.t('neg', a.t('mul.Tensor', c.h('mean'), inv));
  if (c.inputs.offset) shift = a.t('add.Tensor', shift, c.h('offset'));
  return a.t('addcmul', shift, c.h('x'), inv);
});

// ---------------------------------------------------------------- image resizing
/** Source positions and weights for resizing one axis, following tfjs's cpu kernel. */
function resizeAxis(inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean) {
  const scale = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  const nearest = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const src = halfPixel ? scale * (i + 0.5) - 0.5 : scale * i;
    const l = Math.max(0, Math.floor(src));
    lo[i] = l;
    hi[i] = Math.min(inSize - 1, Math.ceil(src));
    frac[i] = src - Math.floor(src);
    const srcN = halfPixel ? scale * (i + 0.5) : scale * i;
    let n = Math.min(inSize - 1, alignCorners ? Math.round(srcN) : Math.floor(srcN));
    if (halfPixel) n = Math.max(0, n);
    nearest[i] = n;
  }
  return { lo, hi, frac, nearest };
}
function bilinearAxis(a: Aten, x: Handle, dim: number, ax: ReturnType<typeof resizeAxis>, n: number): Handle {
  const lo = a.t('index_select', x, dim, a.from(ax.lo, [n], INT));
  const hi = a.t('index_select', x, dim, a.from(ax.hi, [n], INT));
  const shape = [1, 1, 1, 1];
  shape[dim] = n;
  const w = a.from(ax.frac, shape, FLOAT);
  return a.t('lerp.Tensor', lo, hi, w);
}
function bilinearAxisGrad(a: Aten, g: Handle, dim: number, ax: ReturnType<typeof resizeAxis>, n: number, inSize: number): Handle {
  const shape = [1, 1, 1, 1];
  shape[dim] = n;
  const w = a.from(ax.frac, shape, FLOAT);
  const gs = a.shape(g);
  gs[dim] = inSize;
  const z = a.t('zeros', gs, FLOAT, null, a.dev);
  const gHi = a.t('mul.Tensor', g, w);
  const gLo = a.t('sub.Tensor', g, gHi);
  const r = a.t('index_add', z, dim, a.from(ax.lo, [n], INT), gLo);
  return a.t('index_add', r, dim, a.from(ax.hi, [n], INT), gHi);
}
def('ResizeBilinear', (c) => {
  const { a } = c;
  const xi = c.info('images');
  const [oh, ow] = c.attrs.size as [number, number];
  const ac = Boolean(c.attrs.alignCorners);
  const hp = Boolean(c.attrs.halfPixelCenters);
  let x = c.h('images');
  if (xi.dtype !== 'float32') x = cast(a, x, FLOAT);
  x = bilinearAxis(a, x, 1, resizeAxis(xi.shape[1]!, oh, ac, hp), oh);
  return bilinearAxis(a, x, 2, resizeAxis(xi.shape[2]!, ow, ac, hp), ow);
}, () => 'float32');
def('ResizeBilinearGrad', (c) => {
  const { a } = c;
  const xi = c.info('images');
  const di = c.info('dy');
  const ac = Boolean(c.attrs.alignCorners);
  const hp = Boolean(c.attrs.halfPixelCenters);
  const [, ih, iw] = xi.shape as [number, number, number, number];
  const [, oh, ow] = di.shape as [number, number, number, number];
  let g = bilinearAxisGrad(a, c.h('dy'), 2, resizeAxis(iw, ow, ac, hp), ow, iw);
  g = bilinearAxisGrad(a, g, 1, resizeAxis(ih, oh, ac, hp), oh, ih);
  return g;
}, () => 'float32');
def('ResizeNearestNeighbor', (c) => {
  const { a } = c;
  const xi = c.info('images');
  const [oh, ow] = c.attrs.size as [number, number];
  const ac = Boolean(c.attrs.alignCorners);
  const hp = Boolean(c.attrs.halfPixelCenters);
  let x = a.t('index_select', c.h('images'), 1, a.from(resizeAxis(xi.shape[1]!, oh, ac, hp).nearest, [oh], INT));
  x = a.t('index_select', x, 2, a.from(resizeAxis(xi.shape[2]!, ow, ac, hp).nearest, [ow], INT));
  return x;
}, (c) => c.info('images').dtype);
def('ResizeNearestNeighborGrad', (c) => {
  const { a } = c;
  const xi = c.info('images');
  const di = c.info('dy');
  const ac = Boolean(c.attrs.alignCorners);
  const hp = Boolean(c.attrs.halfPixelCenters);
  const [n, ih, iw, ch] = xi.shape as [number, number, number, number];
  const [, oh, ow] = di.shape as [number, number, number, number];
  let g = a.t('index_add', a.t('zeros', [n, oh, iw, ch], FLOAT, null, a.dev), 2, a.from(resizeAxis(iw, ow, ac, hp).nearest, [ow], INT), c.h('dy'));
  g = a.t('index_add', a.t('zeros', [n, ih, iw, ch], FLOAT, null, a.dev), 1, a.from(resizeAxis(ih, oh, ac, hp).nearest, [oh], INT), g);
  return g;
}, () => 'float32');

// tfjs's CropAndResize (the cpu kernel's arithmetic): each box samples its image on a cropH x cropW grid spanning
// [y1, y2] x [x1, x2] in normalised coordinates; positions outside the image get extrapolationValue; a box whose
// index is out of range stays zero. Boxes are read to the host (they are small) and each becomes row/column gathers.
function cropAxis(v1: number, v2: number, inSize: number, outSize: number) {
  const scale = outSize > 1 ? ((v2 - v1) * (inSize - 1)) / (outSize - 1) : 0;
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const near = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  const valid = new Uint8Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const p = outSize > 1 ? v1 * (inSize - 1) + i * scale : 0.5 * (v1 + v2) * (inSize - 1);
    if (p < 0 || p > inSize - 1) continue; // indices stay 0, masked below
    valid[i] = 1;
    lo[i] = Math.floor(p);
    hi[i] = Math.ceil(p);
    near[i] = Math.round(p);
    frac[i] = p - Math.floor(p);
  }
  return { lo, hi, near, frac, valid, allValid: valid.every((v) => v === 1) };
}
def('CropAndResize', (c) => {
  const { a } = c;
  const [batch, ih, iw, ch] = c.info('image').shape as [number, number, number, number];
  const boxes = c.b.readSync(c.info('boxes').dataId) as Float32Array;
  const boxInd = c.b.readSync(c.info('boxInd').dataId) as Int32Array;
  const [cropH, cropW] = c.attrs.cropSize as [number, number];
  const bilinear = (c.attrs.method ?? 'bilinear') === 'bilinear';
  const extrapolation = (c.attrs.extrapolationValue as number | undefined) ?? 0;
  const image = c.info('image').dtype === 'float32' ? c.h('image') : cast(a, c.h('image'), FLOAT);
  const crops: Handle[] = [];
  for (let n = 0; n < boxInd.length; n++) {
    const b = boxInd[n]!;
    if (b < 0 || b >= batch) {
      crops.push(a.t('zeros', [1, cropH, cropW, ch], FLOAT, null, a.dev));
      continue;
    }
    const ys = cropAxis(boxes[4 * n]!, boxes[4 * n + 2]!, ih, cropH);
    const xs = cropAxis(boxes[4 * n + 1]!, boxes[4 * n + 3]!, iw, cropW);
    const src = a.t('select.int', image, 0, b);
    const rows = (idx: Int32Array) => a.t('index_select', src, 0, a.from(idx, [cropH], INT));
    const cols = (x: Handle, idx: Int32Array) => a.t('index_select', x, 1, a.from(idx, [cropW], INT));
    let out: Handle;
    if (bilinear) {
      const xFrac = a.from(xs.frac, [1, cropW, 1], FLOAT);
      const lerpX = (r: Handle) => {
        const l = cols(r, xs.lo);
        return a.t('addcmul', l, a.t('sub.Tensor', cols(r, xs.hi), l), xFrac);
      };
      const top = lerpX(rows(ys.lo));
      const bottom = lerpX(rows(ys.hi));
      out = a.t('addcmul', top, a.t('sub.Tensor', bottom, top), a.from(ys.frac, [cropH, 1, 1], FLOAT));
    } else {
      out = cols(rows(ys.near), xs.near);
    }
    if (!ys.allValid || !xs.allValid) {
      const mask = a.t('logical_and', a.from(ys.valid, [cropH, 1, 1], BOOL), a.from(xs.valid, [1, cropW, 1], BOOL));
      out = a.t('where.ScalarOther', mask, out, extrapolation);
    }
    crops.push(reshape(a, out, [1, cropH, cropW, ch]));
  }
  return crops.length ? a.t('cat', crops, 0) : a.t('zeros', [0, cropH, cropW, ch], FLOAT, null, a.dev);
}, () => 'float32');

def('ExpandDims', (c) => {
  const xi = c.info('input');
  let dim = c.attrs.dim as number;
  const r = xi.shape.length;
  if (dim < 0) {
    util.assert(-(r + 1) <= dim, () => `Axis must be in the interval [${-(r + 1)}, ${r}]`);
    dim += r + 1;
  }
  return c.a.t('unsqueeze', c.h('input'), dim);
}, (c) => c.info('input').dtype);
def('Squeeze', (c) => {
  const xi = c.info('x');
  const axes = c.attrs.axis as number[] | undefined;
  const shape = util.squeezeShape(xi.shape, axes && axes.length ? axes : undefined).newShape;
  return reshape(c.a, c.h('x'), shape);
}, (c) => c.info('x').dtype);
def('BroadcastArgs', (c) => {
  const { a } = c;
  const s0 = Array.from(c.b.readSync(c.info('s0').dataId) as Int32Array);
  const s1 = Array.from(c.b.readSync(c.info('s1').dataId) as Int32Array);
  const out = new Int32Array(backend_util.assertAndGetBroadcastShape(s0, s1));
  return a.from(out, [out.length], INT);
}, () => 'int32');
def('SpaceToBatchND', (c) => {
  const { a } = c;
  const xi = c.info('x');
  const blockShape = c.attrs.blockShape as number[];
  const paddings = c.attrs.paddings as [number, number][];
  const flat: number[] = [];
  const full = [...paddings, ...xi.shape.slice(1 + blockShape.length).map(() => [0, 0] as [number, number])];
  for (let d = full.length - 1; d >= 0; d--) flat.push(full[d]![0], full[d]![1]);
  const padded = a.t('constant_pad_nd', c.h('x'), [...flat, 0, 0], 0);
  const pShape = a.shape(padded);
  const reshaped = backend_util.getReshaped(pShape, blockShape, util.sizeFromShape(blockShape), false);
  const permuted = backend_util.getPermuted(reshaped.length, blockShape.length, false);
  const finalShape = backend_util.getReshapedPermuted(pShape, blockShape, util.sizeFromShape(blockShape), false);
  return reshape(a, perm(a, reshape(a, padded, reshaped), permuted), finalShape);
}, (c) => c.info('x').dtype);
def('BatchToSpaceND', (c) => {
  const { a } = c;
  const xi = c.info('x');
  const blockShape = c.attrs.blockShape as number[];
  const crops = c.attrs.crops as [number, number][];
  const prod = util.sizeFromShape(blockShape);
  const reshaped = backend_util.getReshaped(xi.shape, blockShape, prod);
  const permuted = backend_util.getPermuted(reshaped.length, blockShape.length);
  const reshapedPermuted = backend_util.getReshapedPermuted(xi.shape, blockShape, prod);
  const sliceBegin = backend_util.getSliceBeginCoords(crops, blockShape.length);
  const sliceSize = backend_util.getSliceSize(reshapedPermuted, crops, blockShape.length);
  let y = reshape(a, perm(a, reshape(a, c.h('x'), reshaped), permuted), reshapedPermuted);
  for (let d = 0; d < sliceSize.length; d++) if (sliceBegin[d] !== 0 || sliceSize[d] !== reshapedPermuted[d]) y = a.t('narrow', y, d, sliceBegin[d]!, sliceSize[d]!);
  return y;
}, (c) => c.info('x').dtype);
def('FlipLeftRight', (c) => c.a.t('flip', c.h('image'), [2]), (c) => c.info('image').dtype);
def('BitwiseAnd', (c) => c.a.t('bitwise_and.Tensor', c.h('a'), c.h('b')), (c) => c.info('a').dtype);
def('Diag', (c) => {
  const xi = c.info('x');
  const n = util.sizeFromShape(xi.shape);
  return reshape(c.a, c.a.t('diag_embed', reshape(c.a, c.h('x'), [n])), [...xi.shape, ...xi.shape]);
}, (c) => c.info('x').dtype);
def('DepthToSpace', (c) => {
  const { a } = c;
  const xi = c.info('x');
  const bs = c.attrs.blockSize as number;
  if (c.attrs.dataFormat === 'NCHW') {
    const [n, ch, h, w] = xi.shape as [number, number, number, number];
    const y = perm(a, reshape(a, c.h('x'), [n, bs, bs, ch / (bs * bs), h, w]), [0, 3, 4, 1, 5, 2]);
    return reshape(a, y, [n, ch / (bs * bs), h * bs, w * bs]);
  }
  const [n, h, w, ch] = xi.shape as [number, number, number, number];
  const y = perm(a, reshape(a, c.h('x'), [n, h, w, bs, bs, ch / (bs * bs)]), [0, 1, 3, 2, 4, 5]);
  return reshape(a, y, [n, h * bs, w * bs, ch / (bs * bs)]);
}, (c) => c.info('x').dtype);
def('SearchSorted', (c) => {
  const right = c.attrs.side === 'right';
  return c.a.t('searchsorted.Tensor', c.h('sortedSequence'), c.h('values'), true, right);
}, () => 'int32');
def('TensorScatterUpdate', (c) => {
  const { a } = c;
  const ti = c.info('tensor');
  const ii = c.info('indices');
  const k = ii.shape.length === 1 ? 1 : ii.shape[ii.shape.length - 1]!;
  const strides = new Int32Array(k);
  let s = 1;
  for (let d = k - 1; d >= 0; d--) {
    strides[d] = s;
    s *= ti.shape[d]!;
  }
  const sliceSize = util.sizeFromShape(ti.shape.slice(k));
  const idx = reshape(a, cast(a, c.h('indices'), LONG), [-1, k]);
  const flat = reshape(a, a.t('sum.dim_IntList', a.t('mul.Tensor', idx, a.from(strides, [k], INT)), [-1], false), [-1]);
  const t2 = a.t('clone', reshape(a, c.h('tensor'), [s, sliceSize]));
  const y = a.t('index_put', t2, [flat], reshape(a, c.h('updates'), [-1, sliceSize]), false);
  return reshape(a, y, ti.shape);
}, (c) => c.info('tensor').dtype);

// ---------------------------------------------------------------- 3-D convolution and pooling (NDHWC)
const ndhwcToNcdhw = (a: Aten, x: Handle) => perm(a, x, [0, 4, 1, 2, 3]);
const ncdhwToNdhwc = (a: Aten, x: Handle) => perm(a, x, [0, 2, 3, 4, 1]);
interface Geom3 {
  lo: [number, number, number];
  hi: [number, number, number];
  symmetric: boolean;
}
function geometry3(info: backend_util.Conv3DInfo): Geom3 {
  const lo: [number, number, number] = [info.padInfo.front, info.padInfo.top, info.padInfo.left];
  const ins = [info.inDepth, info.inHeight, info.inWidth];
  const outs = [info.outDepth, info.outHeight, info.outWidth];
  const st = [info.strideDepth, info.strideHeight, info.strideWidth];
  const eff = [info.effectiveFilterDepth, info.effectiveFilterHeight, info.effectiveFilterWidth];
  const hi = [0, 1, 2].map((d) => Math.max(0, (outs[d]! - 1) * st[d]! + eff[d]! - ins[d]! - lo[d]!)) as [number, number, number];
  return { lo, hi, symmetric: lo.every((v, d) => v === hi[d]) };
}
const padList3 = (g: Geom3, sign = 1) => [g.lo[2], g.hi[2], g.lo[1], g.hi[1], g.lo[0], g.hi[0]].map((v) => sign * v);
function conv3dInfo(c: Ctx, xShape: number[], filterShape: number[]): backend_util.Conv3DInfo {
  const { strides, pad, dilations } = c.attrs as Record<string, never>;
  return backend_util.computeConv3DInfo(xShape as never, filterShape as never, strides, dilations ?? 1, pad);
}
function pool3dInfo(c: Ctx, xShape: number[]): backend_util.Conv3DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = c.attrs as Record<string, never>;
  return backend_util.computePool3DInfo(xShape as never, filterSize, strides, 1, pad, dimRoundingMode);
}
const s3 = (i: backend_util.Conv3DInfo) => [i.strideDepth, i.strideHeight, i.strideWidth];
const d3 = (i: backend_util.Conv3DInfo) => [i.dilationDepth, i.dilationHeight, i.dilationWidth];
const k3 = (i: backend_util.Conv3DInfo) => [i.filterDepth, i.filterHeight, i.filterWidth];
/** Explicitly pads (value) unless the padding is symmetric and small enough for ATen; returns input and ATen padding. */
function pad3(a: Aten, x: Handle, g: Geom3, value: number, maxSym: number): { x: Handle; pad: number[] } {
  if (g.symmetric && g.lo.every((v) => v <= maxSym)) return { x, pad: [...g.lo] };
  return { x: a.t('constant_pad_nd', x, padList3(g), value), pad: [0, 0, 0] };
}
def('Conv3D', (c) => {
  const { a } = c;
  const info = conv3dInfo(c, c.info('x').shape, c.info('filter').shape);
  if (util.sizeFromShape(info.outShape) === 0) return a.t('zeros', info.outShape, FLOAT, null, a.dev);
  const g = geometry3(info);
  const { x, pad } = pad3(a, ndhwcToNcdhw(a, c.h('x')), g, 0, Infinity);
  const w = perm(a, c.h('filter'), [4, 3, 0, 1, 2]);
  return ncdhwToNdhwc(a, a.t('convolution', x, w, null, s3(info), pad, d3(info), false, [0, 0, 0], 1));
});
def('Conv3DBackpropInputV2', (c) => {
  const { a } = c;
  const inputShape = c.attrs.inputShape as number[];
  const info = conv3dInfo(c, inputShape, c.info('filter').shape);
  const g = geometry3(info);
  const sym = g.symmetric;
  const [n, dd, hh, ww, ch] = inputShape as [number, number, number, number, number];
  const shape = sym ? [n, dd, hh, ww, ch] : [n, dd + g.lo[0] + g.hi[0], hh + g.lo[1] + g.hi[1], ww + g.lo[2] + g.hi[2], ch];
  const dummy = ndhwcToNcdhw(a, a.t('empty.memory_format', shape, null, null, a.dev));
  const w = perm(a, c.h('filter'), [4, 3, 0, 1, 2]);
  const [gx] = a.ts('convolution_backward', ndhwcToNcdhw(a, c.h('dy')), dummy, w, null, s3(info), sym ? [...g.lo] : [0, 0, 0], d3(info), false, [0, 0, 0], 1, [true, false, false]);
  return ncdhwToNdhwc(a, sym ? gx! : a.t('constant_pad_nd', gx, padList3(g, -1), 0));
});
def('Conv3DBackpropFilterV2', (c) => {
  const { a } = c;
  const filterShape = c.attrs.filterShape as number[];
  const info = conv3dInfo(c, c.info('x').shape, filterShape);
  const g = geometry3(info);
  const { x, pad } = pad3(a, ndhwcToNcdhw(a, c.h('x')), g, 0, Infinity);
  const [fd, fh, fw, ci, co] = filterShape as [number, number, number, number, number];
  const dummyW = a.t('empty.memory_format', [co, ci, fd, fh, fw], null, null, a.dev);
  const [, gw] = a.ts('convolution_backward', ndhwcToNcdhw(a, c.h('dy')), x, dummyW, null, s3(info), pad, d3(info), false, [0, 0, 0], 1, [false, true, false]);
  return perm(a, gw!, [2, 3, 4, 1, 0]);
});
const maxSym3 = (i: backend_util.Conv3DInfo) => Math.floor(Math.min(i.filterDepth, i.filterHeight, i.filterWidth) / 2);
def('MaxPool3D', (c) => {
  const { a } = c;
  const info = pool3dInfo(c, c.info('x').shape);
  if (util.sizeFromShape(info.outShape) === 0) return a.t('zeros', info.outShape, FLOAT, null, a.dev);
  const g = geometry3(info);
  const { x, pad } = pad3(a, ndhwcToNcdhw(a, c.h('x')), g, -Infinity, maxSym3(info));
  return ncdhwToNdhwc(a, a.t('max_pool3d', x, k3(info), s3(info), pad, [1, 1, 1], false));
});
def('MaxPool3DGrad', (c) => {
  const { a } = c;
  const info = pool3dInfo(c, c.info('input').shape);
  const g = geometry3(info);
  const { x, pad } = pad3(a, ndhwcToNcdhw(a, c.h('input')), g, -Infinity, maxSym3(info));
  const [, idx] = a.ts('max_pool3d_with_indices', x, k3(info), s3(info), pad, [1, 1, 1], false);
  const gx = a.t('max_pool3d_with_indices_backward', ndhwcToNcdhw(a, c.h('dy')), x, k3(info), s3(info), pad, [1, 1, 1], false, idx);
  const explicit = !(g.symmetric && g.lo.every((v) => v <= maxSym3(info)));
  return ncdhwToNdhwc(a, explicit ? a.t('constant_pad_nd', gx, padList3(g, -1), 0) : gx);
});
def('AvgPool3D', (c) => {
  const { a } = c;
  const info = pool3dInfo(c, c.info('x').shape);
  if (util.sizeFromShape(info.outShape) === 0) return a.t('zeros', info.outShape, FLOAT, null, a.dev);
  const g = geometry3(info);
  const x = ndhwcToNcdhw(a, c.h('x'));
  if (g.symmetric && g.lo.every((v) => v <= maxSym3(info))) return ncdhwToNdhwc(a, a.t('avg_pool3d', x, k3(info), s3(info), [...g.lo], false, false, null));
  const xp = a.t('constant_pad_nd', x, padList3(g), 0);
  const sum = a.t('avg_pool3d', xp, k3(info), s3(info), [0, 0, 0], false, true, 1);
  const ones = a.t('constant_pad_nd', a.t('ones', [1, 1, info.inDepth, info.inHeight, info.inWidth], FLOAT, null, a.dev), padList3(g), 0);
  // Windows entirely in the padding average to 0 (tfjs), not 0/0.
  const counts = a.t('clamp_min', a.t('avg_pool3d', ones, k3(info), s3(info), [0, 0, 0], false, true, 1), 1);
  return ncdhwToNdhwc(a, a.t('div.Tensor', sum, counts));
});
def('AvgPool3DGrad', (c) => {
  // As in 2-D, tfjs divides every window by the full filter volume in the gradient.
  const { a } = c;
  const info = pool3dInfo(c, c.info('input').shape);
  const g = geometry3(info);
  const x = ndhwcToNcdhw(a, c.h('input'));
  const dy = ndhwcToNcdhw(a, c.h('dy'));
  if (g.symmetric && g.lo.every((v) => v <= maxSym3(info))) return ncdhwToNdhwc(a, a.t('avg_pool3d_backward', dy, x, k3(info), s3(info), [...g.lo], false, true, null));
  const xp = a.t('constant_pad_nd', x, padList3(g), 0);
  const gd = a.t('div.Scalar', dy, info.filterDepth * info.filterHeight * info.filterWidth);
  const gx = a.t('avg_pool3d_backward', gd, xp, k3(info), s3(info), [0, 0, 0], false, true, 1);
  return ncdhwToNdhwc(a, a.t('constant_pad_nd', gx, padList3(g, -1), 0));
});

// ---------------------------------------------------------------- fused gradient kernels (see gradients.ts)
def('TorchReluGrad', (c) => c.a.t('threshold_backward', c.h('dy'), c.h('x'), 0), () => 'float32');
// tfjs passes the gradient for 0 < x <= 6 (step(x) * (x <= 6)); hardtanh_backward blocks x <= min or x >= max.
def('TorchRelu6Grad', (c) => c.a.t('hardtanh_backward', c.h('dy'), c.h('x'), 0, 6.000000476837158), () => 'float32');
def('TorchClipGrad', (c) => c.a.t('hardtanh_backward', c.h('dy'), c.h('x'), c.attrs.lo as number, c.attrs.hi as number), () => 'float32');
def('TorchSquareGrad', (c) => c.a.t('addcmul', scalarT(c.a, 0, FLOAT), c.h('dy'), c.h('x'), 2), () => 'float32');
def('TorchReduceGrad', (c) => {
  const { a } = c;
  const xi = c.info('x');
  const axes = parseAxes(c.attrs.axis, xi.shape);
  const keep = xi.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  let dy = reshape(a, c.h('dy'), keep);
  if (c.attrs.mean) dy = a.t('div.Scalar', dy, axes.reduce((n, ax) => n * xi.shape[ax]!, 1));
  return a.t('expand', dy, xi.shape);
}, () => 'float32');
// Training-mode batch norm over N, H, W of an NHWC tensor in one ATen call: outputs [y, mean, variance (biased),
// invstd]. Used by plumage's BatchNorm layer in place of moments + batchNorm (several passes and saved intermediates).
// Both kernels hand ATen contiguous NCHW copies, never the channels-last view of the NHWC data: libtorch 1.13's
// channels-last CPU batch-norm kernels corrupt the heap on odd batches, and they are also ~10x less accurate (the
// per-channel sums accumulate in float32: mean errors ~1e-6 over 8192 elements against ~3e-8, y errors up to 6e-6
// against 5e-7). In resnet-mini that flipped a ReLU mask element after a batch norm in 3 of 16 inits and put 1-2%
// errors into one batch-norm beta/gamma and every gradient upstream of it (test/torch/resnet-f64-parity.test.ts).
/** Training-mode batch norm of an NHWC tensor on a contiguous NCHW copy, optionally activated in place: [y, mean, variance, invstd]. */
function batchNormTraining(c: Ctx, activation: string | null): Handle[] {
  const { a } = c;
  const eps = c.attrs.varianceEpsilon as number;
  const scale = c.inputs.scale ? c.h('scale') : null;
  const offset = c.inputs.offset ? c.h('offset') : null;
  const [y, mean, invstd] = a.ts('native_batch_norm', a.t('contiguous', nhwcToNchw(a, c.h('x')), 0), scale, offset, null, null, true, 0, eps);
  const out = activation ? activationInPlace(a, y!, activation) : y!;
  const variance = a.t('sub.Scalar', a.t('reciprocal', a.t('square', invstd!)), eps);
  return [nchwToNhwc(a, out), mean!, variance, invstd!];
}
def('TorchBatchNormTraining', (c) => batchNormTraining(c, null), () => 'float32');
// Training-mode batch norm followed by ReLU or ReLU6 (attr `activation`), applied in place on the batch norm's output:
// one kernel and one saved activation instead of two (the gradient needs the input x and the activated output z, whose
// mask equals the pre-activation's: z > 0 where y > 0, 0 < z < 6 where 0 < y < 6). Outputs as TorchBatchNormTraining.
def('TorchBatchNormActTraining', (c) => batchNormTraining(c, c.attrs.activation as string), () => 'float32');
def('TorchBatchNormActTrainingGrad', (c) => {
  const { a } = c;
  const scale = c.inputs.scale ? c.h('scale') : null;
  const x = a.t('contiguous', nhwcToNchw(a, c.h('x')), 0);
  const dz = a.t('contiguous', nhwcToNchw(a, c.h('dy')), 0);
  const z = nhwcToNchw(a, c.h('z'));
  const dy = c.attrs.activation === 'relu' ? a.t('threshold_backward', dz, z, 0) : a.t('hardtanh_backward', dz, z, 0, 6);
  const [dx, dscale, doffset] = a.ts('native_batch_norm_backward', dy, x, scale, null, null, c.h('mean'), c.h('invstd'), true, c.attrs.varianceEpsilon as number, [true, true, true]);
  return [nchwToNhwc(a, dx!), dscale!, doffset!];
}, () => 'float32');
// Its gradient with respect to x, scale and offset, from the saved batch statistics.
def('TorchBatchNormTrainingGrad', (c) => {
  const { a } = c;
  const scale = c.inputs.scale ? c.h('scale') : null;
  const x = a.t('contiguous', nhwcToNchw(a, c.h('x')), 0);
  const dy = a.t('contiguous', nhwcToNchw(a, c.h('dy')), 0);
  const [dx, dscale, doffset] = a.ts('native_batch_norm_backward', dy, x, scale, null, null, c.h('mean'), c.h('invstd'), true, c.attrs.varianceEpsilon as number, [true, true, true]);
  return [nchwToNhwc(a, dx!), dscale!, doffset!];
}, () => 'float32');
def('TorchBatchNormGrad', (c) => {
  const { a } = c;
  const eps = c.attrs.varianceEpsilon as number;
  const scale = c.inputs.scale ? c.h('scale') : null;
  const x = nhwcToNchw(a, c.h('x'));
  const dy = nhwcToNchw(a, c.h('dy'));
  const [dxN, dscale, doffset] = a.ts('native_batch_norm_backward', dy, x, scale, c.h('mean'), c.h('variance'), null, null, false, eps, [true, true, true]);
  const invstd = a.t('rsqrt', a.t('add.Scalar', c.h('variance'), eps));
  const s = scale ?? a.t('ones_like', invstd);
  const dmean = a.t('neg', a.t('mul.Tensor', a.t('mul.Tensor', doffset, s), invstd));
  const dvar = a.t('mul.Scalar', a.t('mul.Tensor', a.t('mul.Tensor', dscale, s), a.t('square', invstd)), -0.5);
  return [nchwToNhwc(a, dxN!), dmean, dvar, dscale!, doffset!];
}, () => 'float32');

// PyTorch's LayerNorm over the last axis in one ATen call: [y, mean, rstd] (mean and rstd with a trailing 1). Used by
// plumage's transformer layers (src/models/vit-layers/ops.ts) in place of tfjs's mean/sub/square/mean/rsqrt/mul/add
// composition (seven ops forward and about twenty in its gradient, each a pass over the token tensor).
def('TorchLayerNorm', (c) => {
  const { a } = c;
  const x = a.t('contiguous', c.h('x'), 0);
  const dim = c.info('x').shape.at(-1)!;
  return a.ts('native_layer_norm', x, [dim], c.h('gamma'), c.h('beta'), c.attrs.eps as number);
}, () => 'float32');
def('TorchLayerNormGrad', (c) => {
  const { a } = c;
  const dim = c.info('x').shape.at(-1)!;
  const x = a.t('contiguous', c.h('x'), 0);
  const dy = a.t('contiguous', c.h('dy'), 0);
  return a.ts('native_layer_norm_backward', dy, x, [dim], c.h('mean'), c.h('rstd'), c.h('gamma'), c.h('beta'), [true, true, true]);
}, () => 'float32');

// Exact (erf) GELU and its gradient as single ATen kernels (tfjs composes it from mul/erf/add: four ops forward and
// about ten in the gradient, each a pass over the MLP's widest tensor).
def('TorchGelu', (c) => c.a.t('gelu', c.h('x'), 'none'), () => 'float32');
def('TorchGeluGrad', (c) => c.a.t('gelu_backward', c.h('dy'), c.h('x'), 'none'), () => 'float32');

// One AdamW update of one variable (src/train/adamw.ts uses it when the backend registers it): [w', m', v'] from
// w, its gradient g and the moments m, v, in 7 passes over the data and 4 new tensors, against ~17 tfjs ops (one new
// tensor each) for the composition. m' = lerp(m, g, 1 - beta1); v' = beta2 v + (1 - beta2) g^2;
// w' = w (1 - lr wd) - lr (m' / bc1) / (sqrt(v' / bc2) + eps), written as w (1 - lr wd) - lr sqrt(bc2) / bc1 * m' /
// (sqrt(v') + eps sqrt(bc2)) (the same value). For a 100M-parameter transformer the composition took 9.4 s of a
// 16 s training step (bench:hub's BEiT-base).
def('TorchAdamWUpdate', (c) => {
  const { a } = c;
  const { lr, beta1, beta2, epsilon, weightDecay, bc1, bc2 } = c.attrs as Record<string, number>;
  const g = c.h('g');
  const m = a.t('lerp.Scalar', c.h('m'), g, 1 - beta1);
  const v = a.t('addcmul_', a.t('mul.Scalar', c.h('v'), beta2), g, g, 1 - beta2);
  const sbc2 = Math.sqrt(bc2);
  const denom = a.t('add_.Scalar', a.t('sqrt', v), epsilon * sbc2, 1);
  const w = a.t('addcdiv_', a.t('mul.Scalar', c.h('w'), 1 - lr * weightDecay), m, denom, (-lr * sbc2) / bc1);
  return [w, m, v];
}, () => 'float32');

export { LONG, FLOAT, INT, BOOL, CHANNELS_LAST_MF };
