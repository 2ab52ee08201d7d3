// Loads the compiled N-API addon (build/Release/plumage_torch.node).
import { createRequire } from 'node:module';
import os from 'node:os';
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
  /** Sets OpenBLAS's thread count (n > 0) and returns it; -1 when libtorch's BLAS is not OpenBLAS. */
  setBlasThreads(n: number): number;
  setDevice(device: string): void;
  hasCuda(): boolean;
  config(): string;
  /** Bytes held by the caching CPU allocator (-1 when disabled with PLUMAGE_TORCH_CACHE_MB=0). */
  cachedBytes(): number;
  /** Releases the allocator's cached blocks. */
  trimCache(): void;
}

export const addonPath =
  process.env.PLUMAGE_TORCH_ADDON ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'build', 'Release', 'plumage_torch.node');

export function loadNative(): Native {
  // libgomp reads this when libtorch loads: sleeping (not spinning) idle OpenMP workers. Spinning workers burn the
  // cores that Node, other processes and the next parallel region need; measured 4x more CPU per step on a shared box.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  // Debian's libtorch calls the system BLAS (OpenBLAS once installed). libtorch parallelises convolutions around BLAS
  // calls with its own OpenMP pool, so OpenBLAS's pthread pool inside those regions would oversubscribe the cores.
  process.env.OPENBLAS_NUM_THREADS ??= '1';
  // Caching allocator limit (MiB): a quarter of RAM, at most 8 GiB. Freed activations above it go back to the OS.
  process.env.PLUMAGE_TORCH_CACHE_MB ??= String(Math.min(8192, Math.round(os.totalmem() / 2 ** 20 / 4)));
  const require = createRequire(import.meta.url);
  return require(addonPath) as Native;
}
