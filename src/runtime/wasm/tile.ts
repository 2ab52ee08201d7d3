import { util, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './util.js';

/**
 * Tile as block copies: the untiled trailing dims are one contiguous block (TypedArray.set), and each tiled dim
 * repeats the block it just wrote with doubling copyWithin (memmove speed). The stock wasm Tile computes an index per
 * element; on the [1,1,1,C] -> [N,H,W,C] tiles of tfjs's batch-norm gradient it was the single most expensive kernel
 * of a resnet-mini training step.
 */
export function tile(args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: NamedAttrMap }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs as { x: TensorInfo };
  const reps = attrs['reps'] as number[];
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * reps[i]!);
  if (x.dtype === 'string') return tileStrings(backend, x, outShape);
  if (x.dtype === 'complex64') throw new Error('plumage wasm Tile: complex64 is not supported by the wasm backend');
  const out = backend.makeOutput(outShape, x.dtype);
  if (util.sizeFromShape(outShape) === 0) return out;
  const o = backend.typedArrayFromHeap(out);
  const s = backend.typedArrayFromHeap(x);
  if (rank === 0) {
    o.set(s);
    return out;
  }
  // innerIn[d] / innerOut[d]: elements per step along dim d in x / out.
  const innerIn = new Array<number>(rank);
  const innerOut = new Array<number>(rank);
  innerIn[rank - 1] = 1;
  innerOut[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    innerIn[d] = innerIn[d + 1]! * x.shape[d + 1]!;
    innerOut[d] = innerOut[d + 1]! * outShape[d + 1]!;
  }
  // Dims from d0 on are not tiled: they form one contiguous block in both x and out.
  let d0 = rank;
  while (d0 > 0 && reps[d0 - 1] === 1) d0--;
  const fill = (d: number, src: number, dst: number): void => {
    if (d === d0) {
      const len = d === 0 ? s.length : innerIn[d - 1]!;
      o.set(s.subarray(src, src + len), dst);
      return;
    }
    const n = x.shape[d]!;
    for (let k = 0; k < n; k++) fill(d + 1, src + k * innerIn[d]!, dst + k * innerOut[d]!);
    const len = n * innerOut[d]!;
    const total = len * reps[d]!;
    let filled = len;
    while (filled < total) {
      const c = Math.min(filled, total - filled);
      o.copyWithin(dst + filled, dst, dst + c);
      filled += c;
    }
  };
  fill(0, 0, 0);
  return out;
}

/** Strings live outside the wasm heap (as byte arrays): plain index arithmetic. */
function tileStrings(backend: WasmBackendLike, x: TensorInfo, outShape: number[]): TensorInfo {
  const vals = backend.readSync(x.dataId) as Uint8Array[];
  const size = util.sizeFromShape(outShape);
  const outStrides = util.computeStrides(outShape);
  const inStrides = util.computeStrides(x.shape);
  const out = new Array<Uint8Array>(size);
  for (let i = 0; i < size; i++) {
    let rem = i;
    let src = 0;
    for (let d = 0; d < outShape.length; d++) {
      const stride = d < outStrides.length ? outStrides[d]! : 1;
      const coord = Math.floor(rem / stride);
      rem -= coord * stride;
      src += (coord % x.shape[d]!) * (d < inStrides.length ? inStrides[d]! : 1);
    }
    out[i] = vals[src]!;
  }
  return backend.makeOutput(outShape, 'string', undefined, out);
}
