import { backend_util, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { fitDy, runStock, flipSpatial, free, reshape, run, scatterStrided, transposedConvByPhases, transposedConvPadding, type WasmBackendLike } from './util.js';

type Pad = backend_util.ExplicitPadding | 'same' | 'valid' | number;
interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: WasmBackendLike;
  attrs: NamedAttrMap;
}

function explicit(top: number, bottom: number, left: number, right: number): backend_util.ExplicitPadding {
  return [[0, 0], [top, bottom], [left, right], [0, 0]];
}

/** Forward conv on wasm (XNNPACK) with explicit padding. */
export function conv(backend: WasmBackendLike, x: TensorInfo, filter: TensorInfo, pad: backend_util.ExplicitPadding, strides: [number, number] = [1, 1], dilations: [number, number] = [1, 1]): TensorInfo {
  return run(backend, 'Conv2D', { x, filter }, { strides, pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined } as unknown as NamedAttrMap);
}


/**
 * dx of a conv2d as a forward conv: dy, zero-dilated by the strides and padded by (filter - 1 - pad), convolved
 * (stride 1) with the spatially flipped filter whose in/out channels are swapped.
 */
export function conv2DBackpropInput(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy: dyIn, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as {
    strides: [number, number] | number;
    pad: Pad;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape: [number, number, number, number];
  };
  const fmt = backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC');
  if (fmt !== 'channelsLast') return runStock('Conv2DBackpropInput', args); // NCHW: the stock kernel handles it
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, fmt);
  const { inHeight: H, inWidth: W, outHeight, outWidth, strideHeight: sH, strideWidth: sW, filterHeight: fH, filterWidth: fW, padInfo } = info;
  const { pT, pL, pB, pR, Hd, Wd } = transposedConvPadding(info);
  const dy = fitDy(backend, dyIn, outHeight, outWidth);

  const transposed = run(backend, 'Transpose', { x: filter }, { perm: [0, 1, 3, 2] });
  try {
    if (sH === 1 && sW === 1 && pT >= 0 && pB >= 0 && pL >= 0 && pR >= 0) {
      const ft = flipSpatial(backend, transposed);
      try {
        return conv(backend, dy, ft, explicit(pT, pB, pL, pR));
      } finally {
        free(backend, ft);
      }
    }
    if (SUBPIXEL.enabled) {
      return transposedConvByPhases(backend, dy, transposed, { H, W, fH, fW, sH, sW, padTop: padInfo.top, padLeft: padInfo.left }, (a, f, p) => conv(backend, a, f, p));
    }
    const ft = flipSpatial(backend, transposed);
    const cropT = Math.max(0, -pT);
    const cropB = Math.max(0, -pB);
    const cropL = Math.max(0, -pL);
    const cropR = Math.max(0, -pR);
    const buf = scatterStrided(backend, dy, Hd - cropT - cropB, Wd - cropL - cropR, sH, sW, -cropT, -cropL);
    try {
      return conv(backend, buf, ft, explicit(Math.max(0, pT), Math.max(0, pB), Math.max(0, pL), Math.max(0, pR)));
    } finally {
      free(backend, buf, ft);
    }
  } finally {
    free(backend, transposed, dy);
  }
}

/**
 * Strided dx: sub-pixel phases (default) or one conv over the zero-inserted dy (kept for tests/benchmarks).
 */
export const SUBPIXEL = { enabled: true };

interface FilterAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * dW of a conv2d as ONE forward conv with batch and channels swapped: x^T [inC, H, W, N] convolved with
 * dy^T [outH, outW, N, outC] used as the filter, dilated by the stride, gives [inC, fH, fW, outC].
 */
export function conv2DBackpropFilter(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as FilterAttrs;
  const fmt = backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC');
  if (fmt !== 'channelsLast') throw new Error('plumage wasm Conv2DBackpropFilter: only NHWC is supported');
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, fmt);
  const { inHeight: H, inWidth: W, inChannels, outChannels, outHeight, outWidth, strideHeight: sH, strideWidth: sW, filterHeight: fH, filterWidth: fW, padInfo } = info;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('plumage wasm Conv2DBackpropFilter: float32 only');
  if (fH === 1 && fW === 1 && GEMM_1X1.enabled) return conv2DBackpropFilter1x1(backend, x, dy, { sH, sW, top: padInfo.top, left: padInfo.left, outHeight, outWidth });
  const Hd = (outHeight - 1) * sH + 1;
  const Wd = (outWidth - 1) * sW + 1;
  const bottom = Math.max(0, fH - 1 + Hd - H - padInfo.top);
  const right = Math.max(0, fW - 1 + Wd - W - padInfo.left);
  const xT = run(backend, 'Transpose', { x }, { perm: [3, 1, 2, 0] });
  const dyT = run(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const res = conv(backend, xT, dyT, explicit(padInfo.top, bottom, padInfo.left, right), [1, 1], [sH, sW]);
  free(backend, xT, dyT);
  let cropped = res;
  if (res.shape[1] !== fH || res.shape[2] !== fW) {
    cropped = run(backend, 'Slice', { x: res }, { begin: [0, 0, 0, 0], size: [inChannels, fH, fW, outChannels] });
    free(backend, res);
  }
  const out = run(backend, 'Transpose', { x: cropped }, { perm: [1, 2, 0, 3] });
  free(backend, cropped);
  return out;
}

/** 1x1 filters use the GEMM formulation below (default) or the general one-conv formulation (tests/benchmarks). */
export const GEMM_1X1 = { enabled: true };

/**
 * dW of a 1x1 conv is one GEMM, x^T [inC, M] @ dy [M, outC] with M = N*oH*oW, run as a 1x1 forward conv of a
 * [1, 1, rows, M] input (rows = the smaller channel count, which XNNPACK handles best) with a [1, 1, M, cols] filter.
 * For strides > 1 or non-zero top/left padding, the sampled pixels of x are first gathered (one row copy per pixel).
 */
function conv2DBackpropFilter1x1(
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  g: { sH: number; sW: number; top: number; left: number; outHeight: number; outWidth: number },
): TensorInfo {
  const [n, H, W, inC] = x.shape as [number, number, number, number];
  const outC = dy.shape[3]!;
  const M = n * g.outHeight * g.outWidth;
  let xs: TensorInfo;
  if (g.sH === 1 && g.sW === 1 && g.top === 0 && g.left === 0 && g.outHeight === H && g.outWidth === W) {
    xs = reshape(backend, x, [M, inC]);
  } else {
    xs = backend.makeOutput([M, inC], 'float32');
    const o = backend.typedArrayFromHeap(xs) as Float32Array;
    const v = backend.typedArrayFromHeap(x) as Float32Array;
    o.fill(0);
    let m = 0;
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < g.outHeight; y++) {
        const iy = y * g.sH - g.top;
        for (let xx = 0; xx < g.outWidth; xx++, m++) {
          const ix = xx * g.sW - g.left;
          if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
          const src = ((b * H + iy) * W + ix) * inC;
          o.set(v.subarray(src, src + inC), m * inC);
        }
      }
    }
  }
  return gemmFilterGrad(backend, xs, dy, M, inC, [1, 1, inC, outC]);
}

/**
 * patches^T [K, M] @ dy [M, outC] as a 1x1 forward conv (XNNPACK GEMM): the operand with the smaller channel count
 * is transposed into a [1, 1, rows, M] input, the other is the [1, 1, M, cols] filter. Frees `patches`.
 */
function gemmFilterGrad(backend: WasmBackendLike, patches: TensorInfo, dy: TensorInfo, M: number, K: number, filterShape: number[]): TensorInfo {
  const outC = dy.shape[3]!;
  const dy2 = reshape(backend, dy, [M, outC]);
  const [rowsT, cols, rows, colsN] = K <= outC ? [patches, dy2, K, outC] : [dy2, patches, outC, K];
  const t = run(backend, 'Transpose', { x: rowsT }, { perm: [1, 0] }); // [rows, M]
  const input = reshape(backend, t, [1, 1, rows, M]);
  const filter = reshape(backend, cols, [1, 1, M, colsN]);
  const res = conv(backend, input, filter, explicit(0, 0, 0, 0)); // [1, 1, rows, colsN]
  free(backend, t, input, filter, patches, dy2);
  if (K <= outC) {
    const out = reshape(backend, res, filterShape);
    free(backend, res);
    return out;
  }
  const r2 = reshape(backend, res, [outC, K]);
  free(backend, res);
  const tr = run(backend, 'Transpose', { x: r2 }, { perm: [1, 0] });
  free(backend, r2);
  const out = reshape(backend, tr, filterShape);
  free(backend, tr);
  return out;
}

/** im2col: [M = N*oH*oW, fH*fW*inC] patches of x (zeros where the window leaves the padded input). */
function im2col(backend: WasmBackendLike, x: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW, strideHeight: sH, strideWidth: sW, filterHeight: fH, filterWidth: fW, padInfo } = info;
  const M = N * oH * oW;
  const K = fH * fW * C;
  const patches = backend.makeOutput([M, K], 'float32');
  const p = backend.typedArrayFromHeap(patches) as Float32Array;
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  p.fill(0);
  let m = 0;
  for (let b = 0; b < N; b++) {
    for (let oy = 0; oy < oH; oy++) {
      for (let ox = 0; ox < oW; ox++, m++) {
        const rowBase = m * K;
        const jStart = Math.max(0, padInfo.left - ox * sW);
        const jEnd = Math.min(fW, W + padInfo.left - ox * sW);
        if (jEnd <= jStart) continue;
        const ix0 = ox * sW - padInfo.left + jStart;
        const len = (jEnd - jStart) * C;
        for (let i = 0; i < fH; i++) {
          const iy = oy * sH - padInfo.top + i;
          if (iy < 0 || iy >= H) continue;
          const src = ((b * H + iy) * W + ix0) * C;
          p.set(xv.subarray(src, src + len), rowBase + (i * fW + jStart) * C);
        }
      }
    }
  }
  return patches;
}

/**
 * dW of a conv2d as im2col (JS row copies) + one wasm BatchMatMul: patches^T [fH*fW*inC, M] @ dy [M, outC].
 * Kept for the benchmark comparison with the conv formulation.
 */
export function conv2DBackpropFilterIm2col(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as FilterAttrs;
  const fmt = backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC');
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, fmt);
  const patches = im2col(backend, x, info);
  const [M, K] = patches.shape as [number, number];
  const a = reshape(backend, patches, [1, M, K]);
  const b = reshape(backend, dy, [1, M, dy.shape[3]!]);
  const prod = run(backend, 'BatchMatMul', { a, b }, { transposeA: true, transposeB: false });
  free(backend, patches, a, b);
  const out = reshape(backend, prod, filterShape);
  free(backend, prod);
  return out;
}
