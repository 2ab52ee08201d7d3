import { getKernel, util, type DataType, type KernelConfig, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

/** The parts of tfjs-backend-wasm's BackendWasm that the training kernels use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
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

/**
 * Runs another kernel registered on 'wasm' directly (outside the engine, so nothing is recorded on the tape and no
 * engine-level tensors are created). The caller owns the returned TensorInfo and must `free` it.
 */
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

/** Casts to float32 when needed (the wasm conv kernels only read float32); returns x itself (with a ref) otherwise. */
export function asFloat(backend: WasmBackendLike, x: TensorInfo): TensorInfo {
  if (x.dtype === 'float32') return reshape(backend, x, x.shape.slice());
  return run(backend, 'Cast', { x }, { dtype: 'float32' });
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
