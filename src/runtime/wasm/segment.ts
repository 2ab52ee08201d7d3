import { util, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './util.js';

/**
 * UnsortedSegmentSum: out[s, ...] = sum of x[i, ...] over i with segmentIds[i] == s (ids outside [0, numSegments) are
 * dropped, as in TF). segmentIds may cover a leading prefix of x's shape. A single O(size) scatter-add pass over the
 * heap arrays: the op is memory-bound and the wasm build offers no scatter-add primitive that drops invalid ids.
 */
export function unsortedSegmentSum(args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: NamedAttrMap }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = attrs['numSegments'] as number;
  const idRank = segmentIds.shape.length;
  for (let i = 0; i < idRank; i++) {
    if (segmentIds.shape[i] !== x.shape[i]) throw new Error(`UnsortedSegmentSum: segmentIds shape ${segmentIds.shape} is not a prefix of x shape ${x.shape}`);
  }
  const rows = util.sizeFromShape(segmentIds.shape);
  const inner = util.sizeFromShape(x.shape.slice(idRank));
  const dtype = x.dtype === 'int32' || x.dtype === 'bool' ? 'int32' : 'float32';
  const out = backend.makeOutput([numSegments, ...x.shape.slice(idRank)], dtype);
  const o = backend.typedArrayFromHeap(out);
  const xv = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  o.fill(0);
  for (let r = 0; r < rows; r++) {
    const s = ids[r]!;
    if (s < 0 || s >= numSegments) continue;
    const src = r * inner;
    const dst = s * inner;
    for (let k = 0; k < inner; k++) o[dst + k]! += xv[src + k]!;
  }
  return out;
}
