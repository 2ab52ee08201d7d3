import { backend_util, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { fitDy, flipSpatial, free, reshape, run, scatterStrided, transposedConvByPhases, transposedConvPadding, type WasmBackendLike } from './util.js';

type Pad = backend_util.ExplicitPadding | 'same' | 'valid' | number;
interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: WasmBackendLike;
  attrs: NamedAttrMap;
}
interface DwAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function explicit(top: number, bottom: number, left: number, right: number): backend_util.ExplicitPadding {
  return [[0, 0], [top, bottom], [left, right], [0, 0]];
}

function dwconv(backend: WasmBackendLike, x: TensorInfo, filter: TensorInfo, pad: backend_util.ExplicitPadding, dilations: [number, number] = [1, 1]): TensorInfo {
  return run(backend, 'DepthwiseConv2dNative', { x, filter }, { strides: [1, 1], pad, dilations, dimRoundingMode: undefined } as unknown as NamedAttrMap);
}

function checkDilations(d: [number, number] | number | undefined, what: string): void {
  const [a, b] = typeof d === 'number' ? [d, d] : (d ?? [1, 1]);
  if (a !== 1 || b !== 1) throw new Error(`plumage wasm ${what}: dilations other than 1 are not supported`);
}

/**
 * Strided depthwise dx: one depthwise conv over the zero-inserted dy, or sub-pixel phases. 'auto' takes zero-insertion
 * for filters up to 3x3 (XNNPACK's 9-tap depthwise microkernel makes the 4x larger conv ~3x faster than the 1..4-tap
 * phase convs + scatter, measured at batch 32) and phases for larger filters (5x5 x2: phases ~1.5x faster).
 */
export const DW_STRIDED_DX: { mode: 'auto' | 'phases' | 'zero-insert' } = { mode: 'auto' };

/**
 * dx of a depthwise conv: a depthwise forward conv (multiplier 1 over C*mult channels) of the padded dy with the
 * flipped filter (for strides > 1: over the zero-inserted dy, or one conv per sub-pixel phase; see DW_STRIDED_DX),
 * then a sum over the multiplier axis.
 */
export function depthwiseConv2dNativeBackpropInput(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy: dyIn, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as DwAttrs & { inputShape: [number, number, number, number] };
  checkDilations(dilations, 'DepthwiseConv2dNativeBackpropInput');
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, true);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight, outWidth, strideHeight: sH, strideWidth: sW, filterHeight: fH, filterWidth: fW, padInfo } = info;
  const mult = filter.shape[3]!;
  const { pT, pL, pB, pR, Hd, Wd } = transposedConvPadding(info);
  const dy = fitDy(backend, dyIn, outHeight, outWidth);

  let full: TensorInfo;
  if (sH === 1 && sW === 1 && pT >= 0 && pB >= 0 && pL >= 0 && pR >= 0) {
    const flipped = flipSpatial(backend, filter);
    const f = reshape(backend, flipped, [fH, fW, C * mult, 1]);
    full = dwconv(backend, dy, f, explicit(pT, pB, pL, pR));
    free(backend, flipped, f);
  } else if (DW_STRIDED_DX.mode === 'zero-insert' || (DW_STRIDED_DX.mode === 'auto' && fH * fW <= 9)) {
    const flipped = flipSpatial(backend, filter);
    const f = reshape(backend, flipped, [fH, fW, C * mult, 1]);
    const cropT = Math.max(0, -pT);
    const cropB = Math.max(0, -pB);
    const cropL = Math.max(0, -pL);
    const cropR = Math.max(0, -pR);
    const buf = scatterStrided(backend, dy, Hd - cropT - cropB, Wd - cropL - cropR, sH, sW, -cropT, -cropL);
    full = dwconv(backend, buf, f, explicit(Math.max(0, pT), Math.max(0, pB), Math.max(0, pL), Math.max(0, pR)));
    free(backend, flipped, f, buf);
  } else {
    const taps = reshape(backend, filter, [fH, fW, C * mult, 1]);
    full = transposedConvByPhases(backend, dy, taps, { H, W, fH, fW, sH, sW, padTop: padInfo.top, padLeft: padInfo.left }, (a, f, p) => dwconv(backend, a, f, p), C * mult);
    free(backend, taps);
  }
  free(backend, dy);
  if (mult === 1) return full;
  const r = reshape(backend, full, [N, H, W, C, mult]);
  free(backend, full);
  const out = run(backend, 'Sum', { x: r }, { axis: [4], keepDims: false });
  free(backend, r);
  return out;
}

/**
 * dW of a depthwise conv as ONE depthwise forward conv: the batch is folded into the channels (x as [1, H, W, N*C]),
 * dy supplies a per-(n, c) spatial filter [outH, outW, N*C, mult] dilated by the stride, and the batch is summed out.
 */
export function depthwiseConv2dNativeBackpropFilter(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as DwAttrs & { filterShape: [number, number, number, number] };
  checkDilations(dilations, 'DepthwiseConv2dNativeBackpropFilter');
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, true);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight, outWidth, strideHeight: sH, strideWidth: sW, filterHeight: fH, filterWidth: fW, padInfo } = info;
  const mult = filterShape[3];
  if (N === 1) {
    return depthwiseFilterByConv(backend, reshape(backend, x, x.shape.slice()), reshape(backend, dy, dy.shape.slice()), { H, W, C, N, mult, outHeight, outWidth, sH, sW, fH, fW, padInfo });
  }
  const xT = run(backend, 'Transpose', { x }, { perm: [1, 2, 0, 3] }); // [H, W, N, C]
  const dyT = run(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [oH, oW, N, C*mult]
  return depthwiseFilterByConv(backend, xT, dyT, { H, W, C, N, mult, outHeight, outWidth, sH, sW, fH, fW, padInfo });
}

interface Geometry {
  H: number; W: number; C: number; N: number; mult: number; outHeight: number; outWidth: number;
  sH: number; sW: number; fH: number; fW: number; padInfo: backend_util.PadInfo;
}

/** Takes ownership of xT ([H, W, N, C] layout) and dyT ([oH, oW, N, C*mult] layout). */
function depthwiseFilterByConv(backend: WasmBackendLike, xT: TensorInfo, dyT: TensorInfo, g: Geometry): TensorInfo {
  const { H, W, C, N, mult, outHeight, outWidth, sH, sW, fH, fW, padInfo } = g;
  const Hd = (outHeight - 1) * sH + 1;
  const Wd = (outWidth - 1) * sW + 1;
  const bottom = Math.max(0, fH - 1 + Hd - H - padInfo.top);
  const right = Math.max(0, fW - 1 + Wd - W - padInfo.left);
  const x1 = reshape(backend, xT, [1, H, W, N * C]);
  const f = reshape(backend, dyT, [outHeight, outWidth, N * C, mult]);
  free(backend, xT, dyT);
  let res = dwconv(backend, x1, f, explicit(padInfo.top, bottom, padInfo.left, right), [sH, sW]); // [1, fH', fW', N*C*mult]
  free(backend, x1, f);
  if (res.shape[1] !== fH || res.shape[2] !== fW) {
    const s = run(backend, 'Slice', { x: res }, { begin: [0, 0, 0, 0], size: [1, fH, fW, N * C * mult] });
    free(backend, res);
    res = s;
  }
  if (N === 1) {
    const out = reshape(backend, res, [fH, fW, C, mult]);
    free(backend, res);
    return out;
  }
  const r = reshape(backend, res, [fH, fW, N, C * mult]);
  free(backend, res);
  const summed = run(backend, 'Sum', { x: r }, { axis: [2], keepDims: false });
  free(backend, r);
  const out = reshape(backend, summed, [fH, fW, C, mult]);
  free(backend, summed);
  return out;
}

/** Reference JS-loop formulation of the depthwise filter gradient (benchmark comparison only). */
export function depthwiseConv2dNativeBackpropFilterLoop(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dimRoundingMode, filterShape } = attrs as unknown as DwAttrs & { filterShape: [number, number, number, number] };
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, true);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW, strideHeight: sH, strideWidth: sW, filterHeight: fH, filterWidth: fW, padInfo } = info;
  const mult = filterShape[3];
  const out = backend.makeOutput(filterShape, 'float32');
  const o = backend.typedArrayFromHeap(out) as Float32Array;
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  const dv = backend.typedArrayFromHeap(dy) as Float32Array;
  o.fill(0);
  const CM = C * mult;
  for (let b = 0; b < N; b++) {
    for (let oy = 0; oy < oH; oy++) {
      for (let ox = 0; ox < oW; ox++) {
        const dBase = ((b * oH + oy) * oW + ox) * CM;
        for (let i = 0; i < fH; i++) {
          const iy = oy * sH - padInfo.top + i;
          if (iy < 0 || iy >= H) continue;
          for (let j = 0; j < fW; j++) {
            const ix = ox * sW - padInfo.left + j;
            if (ix < 0 || ix >= W) continue;
            const xBase = ((b * H + iy) * W + ix) * C;
            const oBase = (i * fW + j) * CM;
            if (mult === 1) {
              for (let c = 0; c < C; c++) o[oBase + c]! += xv[xBase + c]! * dv[dBase + c]!;
            } else {
              for (let c = 0; c < C; c++) {
                const xvC = xv[xBase + c]!;
                for (let m = 0; m < mult; m++) o[oBase + c * mult + m]! += xvC * dv[dBase + c * mult + m]!;
              }
            }
          }
        }
      }
    }
  }
  return out;
}
