import { getKernel, util, type DataType, type KernelConfig, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

/** The parts of tfjs-backend-wasm's BackendWasm that the training kernels use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number, values?: unknown): TensorInfo;
  readSync(dataId: object): unknown;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

/** Stock kernels that a replacement delegates to (captured before we unregister them). */
const captured = new Map<string, KernelConfig>();

export function captureKernel(name: string): void {
  const k = getKernel(name, 'wasm');
  if (k && !captured.has(name)) captured.set(name, k);
}

export function capturedKernel(name: string): KernelConfig | undefined {
  return captured.get(name);
}

const setUp = new WeakMap<object, Set<string>>();

/**
 * Runs a captured stock kernel. Its setupFunc (which binds the wasm function) did not run at backend initialisation
 * because the kernel was already unregistered then, so it is run here once per backend instance.
 */
export function runStock(name: string, args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: NamedAttrMap }): TensorInfo {
  const k = captured.get(name);
  if (!k) throw new Error(`plumage wasm kernels: no stock '${name}' kernel was captured`);
  let done = setUp.get(args.backend);
  if (!done) setUp.set(args.backend, (done = new Set()));
  if (!done.has(name)) {
    k.setupFunc?.(args.backend as never);
    done.add(name);
  }
  return k.kernelFunc(args as never) as TensorInfo;
}

/**
 * Runs another kernel registered on 'wasm' directly (outside the engine, so nothing is recorded on the tape and no
 * engine-level tensors are created). The caller owns the returned TensorInfo and must `free` it.
 */
/**
 * Padding of the stride-dilated dy for a transposed convolution written as a forward conv with the flipped filter:
 * the full-correlation border minus the forward pass's own padding, sized so the output is the input's shape
 * (Hd x Wd is dy's size once stride zeros are inserted).
 */
export function transposedConvPadding(info: {
  inHeight: number; inWidth: number; outHeight: number; outWidth: number; strideHeight: number; strideWidth: number;
  filterHeight: number; filterWidth: number; padInfo: { top: number; left: number };
}): { pT: number; pL: number; pB: number; pR: number; Hd: number; Wd: number } {
  const { inHeight: H, inWidth: W, outHeight, outWidth, strideHeight: sH, strideWidth: sW, filterHeight: fH, filterWidth: fW, padInfo } = info;
  const pT = fH - 1 - padInfo.top;
  const pL = fW - 1 - padInfo.left;
  const Hd = (outHeight - 1) * sH + 1; // dy height after inserting stride-1 zeros between rows
  const Wd = (outWidth - 1) * sW + 1;
  return { pT, pL, pB: H + fH - 1 - Hd - pT, pR: W + fW - 1 - Wd - pL, Hd, Wd };
}

export function run(backend: WasmBackendLike, name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  const k = getKernel(name, 'wasm');
  if (!k) throw new Error(`plumage wasm kernels: '${name}' is not registered on the wasm backend`);
  const out = k.kernelFunc({ inputs, attrs, backend: backend as never });
  if (Array.isArray(out)) throw new Error(`plumage wasm kernels: '${name}' returned several outputs`);
  return out as TensorInfo;
}

export function free(backend: WasmBackendLike, ...infos: (TensorInfo | null | undefined)[]): void {
  for (const t of infos) if (t) backend.disposeData(t.dataId);
}

/** A reshaped view sharing the data (refcount incremented, so it must be freed like any other output). */
export function reshape(backend: WasmBackendLike, x: TensorInfo, shape: number[]): TensorInfo {
  if (util.sizeFromShape(shape) !== util.sizeFromShape(x.shape)) throw new Error(`reshape ${x.shape} -> ${shape}`);
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

/**
 * Writes `src` [N, h, w, C] into a zeroed [N, H, W, C] buffer at rows offY + y*sy, cols offX + x*sx (entries that fall
 * outside are dropped): the zero-insertion ("dilation") and padding/cropping needed to express a transposed conv as a
 * forward one. Whole channel rows are copied with TypedArray.set, so the JS cost is one call per pixel.
 */
export function scatterStrided(
  backend: WasmBackendLike,
  src: TensorInfo,
  outH: number,
  outW: number,
  sy: number,
  sx: number,
  offY: number,
  offX: number,
): TensorInfo {
  const [n, h, w, c] = src.shape as [number, number, number, number];
  const out = backend.makeOutput([n, outH, outW, c], 'float32');
  // Views are taken after the allocation: a heap growth would detach earlier ones.
  const o = backend.typedArrayFromHeap(out) as Float32Array;
  const s = backend.typedArrayFromHeap(src) as Float32Array;
  o.fill(0);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const oy = offY + y * sy;
      if (oy < 0 || oy >= outH) continue;
      const srcRow = ((b * h + y) * w) * c;
      const dstRow = ((b * outH + oy) * outW) * c;
      if (sx === 1 && offX === 0 && w === outW) {
        o.set(s.subarray(srcRow, srcRow + w * c), dstRow);
        continue;
      }
      for (let x = 0; x < w; x++) {
        const ox = offX + x * sx;
        if (ox < 0 || ox >= outW) continue;
        const si = srcRow + x * c;
        o.set(s.subarray(si, si + c), dstRow + ox * c);
      }
    }
  }
  return out;
}

/**
 * The dy a backprop-input kernel reads: tfjs's reference kernels index dy by the geometry derived from inputShape, so a
 * larger dy (as in tfjs-core's own conv2dTranspose specs) is cropped to [N, outH, outW, C]. Returns an owned TensorInfo.
 */
export function fitDy(backend: WasmBackendLike, dy: TensorInfo, outH: number, outW: number): TensorInfo {
  const [n, h, w, c] = dy.shape as [number, number, number, number];
  if (h === outH && w === outW) return reshape(backend, dy, dy.shape.slice());
  if (h < outH || w < outW) throw new Error(`plumage wasm kernels: dy ${dy.shape} is smaller than the expected [${n}, ${outH}, ${outW}, ${c}]`);
  return run(backend, 'Slice', { x: dy }, { begin: [0, 0, 0, 0], size: [n, outH, outW, c] });
}

/**
 * Flips a [fH, fW, ...] filter spatially (out[i, j] = in[fH-1-i, fW-1-j]). Each tap is one contiguous block, so this
 * is fH*fW block copies; the stock wasm Reverse kernel is an element-wise loop and far slower on large filters.
 */
export function flipSpatial(backend: WasmBackendLike, f: TensorInfo): TensorInfo {
  const [fH, fW] = f.shape as [number, number];
  const block = util.sizeFromShape(f.shape.slice(2));
  const out = backend.makeOutput(f.shape.slice(), f.dtype);
  const o = backend.typedArrayFromHeap(out);
  const s = backend.typedArrayFromHeap(f);
  for (let i = 0; i < fH; i++) {
    for (let j = 0; j < fW; j++) {
      const src = ((fH - 1 - i) * fW + (fW - 1 - j)) * block;
      o.set(s.subarray(src, src + block), (i * fW + j) * block);
    }
  }
  return out;
}

export interface TransposedGeometry {
  /** dx spatial size. */
  H: number;
  W: number;
  fH: number;
  fW: number;
  sH: number;
  sW: number;
  /** The forward conv's top/left padding. */
  padTop: number;
  padLeft: number;
}

/**
 * A strided transposed convolution (the dx of a conv with stride > 1) as sH*sW stride-1 forward convs, one per output
 * phase (sub-pixel decomposition): dx[h] = sum_t dy[q - t] * W[r + sH*t] with h + padTop = q*sH + r, so the rows of
 * one phase r only receive the taps r, r + sH, ...; each phase is a forward conv of dy with that (flipped) sub-filter,
 * scattered into dx. Unlike zero-inserting dy, no multiply-by-zero work is done.
 *
 * @param dy [N, oH, oW, Cin]
 * @param taps the filter in forward-conv layout for dy -> dx, NOT flipped: [fH, fW, Cin, Cout]
 * @param conv runs a stride-1 forward conv with explicit [[0,0],[t,b],[l,r],[0,0]] padding
 * @param outChannels channels of conv's output (Cout for a conv; Cin for a depthwise conv with [fH, fW, Cin, 1] taps)
 * @returns dx [N, H, W, outChannels]
 */
export function transposedConvByPhases(
  backend: WasmBackendLike,
  dy: TensorInfo,
  taps: TensorInfo,
  g: TransposedGeometry,
  conv: (x: TensorInfo, f: TensorInfo, pad: [[number, number], [number, number], [number, number], [number, number]]) => TensorInfo,
  outChannels?: number,
): TensorInfo {
  const [n, oH, oW] = dy.shape as [number, number, number, number];
  const [, , cin, tapOut] = taps.shape as [number, number, number, number];
  const block = cin * tapOut;
  const cout = outChannels ?? tapOut;
  const pT = g.padTop;
  const pL = g.padLeft;
  const out = backend.makeOutput([n, g.H, g.W, cout], 'float32');
  backend.typedArrayFromHeap(out).fill(0);
  const axis = (r: number, f: number, s: number, p: number, size: number, inSize: number) => {
    const T = r < f ? Math.ceil((f - r) / s) : 0;
    const qmin = Math.ceil((p - r) / s);
    const qmax = Math.floor((size - 1 + p - r) / s);
    const padA = Math.max(0, T - 1 - qmin);
    let padB = Math.max(0, qmax + 1 - inSize);
    if (inSize + padA + padB - T + 1 < 1) padB = T - inSize - padA; // keep the conv valid; extra rows are dropped
    const rows = inSize + padA + padB - T + 1;
    return { T, qmin, qmax, padA, padB, rows };
  };
  for (let rh = 0; rh < g.sH; rh++) {
    const ah = axis(rh, g.fH, g.sH, pT, g.H, oH);
    if (ah.T === 0 || ah.qmax < ah.qmin) continue;
    for (let rw = 0; rw < g.sW; rw++) {
      const aw = axis(rw, g.fW, g.sW, pL, g.W, oW);
      if (aw.T === 0 || aw.qmax < aw.qmin) continue;
      // Flipped sub-filter: sub[u, v] = taps[rh + sH*(Th-1-u), rw + sW*(Tw-1-v)].
      const sub = backend.makeOutput([ah.T, aw.T, cin, tapOut], 'float32');
      {
        const sv = backend.typedArrayFromHeap(sub);
        const tv = backend.typedArrayFromHeap(taps);
        for (let u = 0; u < ah.T; u++) {
          for (let v = 0; v < aw.T; v++) {
            const i = rh + g.sH * (ah.T - 1 - u);
            const j = rw + g.sW * (aw.T - 1 - v);
            const src = (i * g.fW + j) * block;
            sv.set(tv.subarray(src, src + block), (u * aw.T + v) * block);
          }
        }
      }
      const part = conv(dy, sub, [[0, 0], [ah.padA, ah.padB], [aw.padA, aw.padB], [0, 0]]);
      backend.disposeData(sub.dataId);
      const pv = backend.typedArrayFromHeap(part);
      const ov = backend.typedArrayFromHeap(out);
      for (let b = 0; b < n; b++) {
        for (let y = 0; y < ah.rows; y++) {
          const q = y - ah.padA + ah.T - 1;
          if (q < ah.qmin || q > ah.qmax) continue;
          const h = q * g.sH + rh - pT;
          const srcRow = (b * ah.rows + y) * aw.rows;
          const dstRow = (b * g.H + h) * g.W;
          for (let x = 0; x < aw.rows; x++) {
            const qw = x - aw.padA + aw.T - 1;
            if (qw < aw.qmin || qw > aw.qmax) continue;
            const w = qw * g.sW + rw - pL;
            const si = (srcRow + x) * cout;
            ov.set(pv.subarray(si, si + cout), (dstRow + w) * cout);
          }
        }
      }
      backend.disposeData(part.dataId);
    }
  }
  return out;
}
