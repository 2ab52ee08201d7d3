// Loads the compiled N-API addon (build/Release/plumage_torch.node).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A tensor handle: an index into the addon's table of at::Tensor. */
export type Handle = number;
export type Arg = Handle | number | boolean | string | null | undefined | readonly (number | boolean | null)[];

export interface Native {
  /** Resolves an ATen operator ("aten::conv2d", overload "") to an id for `call`. */
  op(name: string, overload: string): number;
  schema(op: number): string;
  /** Calls an ATen operator; arguments are converted by its schema (tensors are handles). */
  call(op: number, args: readonly unknown[]): unknown;
  fromArray(data: ArrayBufferView, shape: readonly number[], dtype: number): Handle;
  toArray(h: Handle): Float32Array | Int32Array | Uint8Array;
  free(h: Handle): void;
  dup(h: Handle): Handle;
  shape(h: Handle): number[];
  /** c10::ScalarType code (6 float32, 3 int32, 11 bool, 4 int64, 7 float64). */
  dtype(h: Handle): number;
  nbytes(h: Handle): number;
  liveHandles(): number;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setDevice(device: string): void;
  hasCuda(): boolean;
  config(): string;
}

export const addonPath =
  process.env.PLUMAGE_TORCH_ADDON ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'build', 'Release', 'plumage_torch.node');

export function loadNative(): Native {
  const require = createRequire(import.meta.url);
  return require(addonPath) as Native;
}
