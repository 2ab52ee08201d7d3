// The 'torch' KernelBackend: tensor data lives in libtorch (at::Tensor handles owned by the addon).
import {
  type BackendTimingInfo,
  type BackendValues,
  DataStorage,
  type DataId,
  type DataType,
  KernelBackend,
  type TensorInfo,
  engine,
  util,
} from '@tensorflow/tfjs-core';
import type { Handle, Native } from './native.js';

/** c10::ScalarType codes. */
export const ST = { byte: 0, int32: 3, int64: 4, float32: 6, float64: 7, bool: 11 } as const;
export const DTYPE_CODE: Record<string, number> = { float32: ST.float32, int32: ST.int32, bool: ST.bool };
function codeToDtype(code: number): DataType {
  if (code === ST.bool) return 'bool';
  if (code === ST.float32 || code === ST.float64 || code === 5 || code === 15) return 'float32';
  return 'int32';
}

interface Entry {
  /** Tensor handle, or -1 while the data only exists as JS values (lazy upload). */
  h: Handle;
  /** JS values: set for data written by tfjs until first uploaded, and always for strings. */
  values: BackendValues | null;
  dtype: DataType;
  shape: number[];
  refCount: number;
}

/** Operator call helper: resolves "name.overload" once and tracks created handles per kernel scope. */
export class Aten {
  private ids = new Map<string, number>();
  private scopes: Handle[][] = [];
  /** Device for factory functions (null: CPU). */
  dev: string | null = null;
  constructor(readonly native: Native) {}

  private id(qualified: string): number {
    let id = this.ids.get(qualified);
    if (id === undefined) {
      const dot = qualified.indexOf('.');
      const name = dot < 0 ? qualified : qualified.slice(0, dot);
      const overload = dot < 0 ? '' : qualified.slice(dot + 1);
      id = this.native.op(`aten::${name}`, overload);
      this.ids.set(qualified, id);
    }
    return id;
  }

  private track<T>(r: T): T {
    const scope = this.scopes[this.scopes.length - 1];
    if (scope) {
      if (typeof r === 'number') scope.push(r);
      else if (Array.isArray(r)) for (const x of r) if (typeof x === 'number') scope.push(x);
    }
    return r;
  }

  /** Calls an ATen operator returning one tensor. */
  t(qualified: string, ...args: unknown[]): Handle {
    return this.track(this.native.call(this.id(qualified), args) as Handle);
  }

  /** Calls an ATen operator returning several tensors. */
  ts(qualified: string, ...args: unknown[]): Handle[] {
    return this.track(this.native.call(this.id(qualified), args) as Handle[]);
  }

  /** Creates a tensor from JS data inside the current scope. */
  from(data: ArrayBufferView, shape: readonly number[], dtype: number): Handle {
    return this.track(this.native.fromArray(data, shape, dtype));
  }

  shape(h: Handle): number[] {
    return this.native.shape(h);
  }

  /** Runs `f`; frees every handle created meanwhile except those in the result. */
  scope<R extends Handle | Handle[]>(f: () => R): R {
    this.scopes.push([]);
    let created: Handle[] = [];
    let result: R | undefined;
    try {
      result = f();
    } finally {
      created = this.scopes.pop()!;
      const keep = new Set<Handle>(typeof result === 'number' ? [result] : Array.isArray(result) ? result : []);
      for (const h of created) if (!keep.has(h)) this.native.free(h);
    }
    return result;
  }
}

export class TorchBackend extends KernelBackend {
  readonly aten: Aten;
  readonly device: string;
  private data: DataStorage<Entry>;
  private nextId = 0;

  constructor(readonly native: Native, device: string) {
    super();
    this.aten = new Aten(native);
    this.device = device;
    this.aten.dev = device === 'cpu' ? null : device;
    this.data = new DataStorage(this, engine());
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = { id: this.nextId++ };
    this.data.set(dataId, { h: -1, values, dtype, shape: shape.slice(), refCount: 1 });
    return dataId;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.data.set(dataId, { h: -1, values, dtype, shape: shape.slice(), refCount });
  }

  makeTensorInfo(shape: number[], dtype: DataType, values?: BackendValues | string[]): TensorInfo {
    let vals = values as BackendValues | undefined;
    if (dtype === 'string' && values != null && values.length > 0 && util.isString(values[0])) {
      vals = (values as string[]).map((s) => util.encodeString(s));
    }
    if (vals == null) vals = util.getTypedArrayFromDType(dtype as 'float32', util.sizeFromShape(shape));
    return { dataId: this.write(vals, shape, dtype), shape, dtype };
  }

  /** Wraps a handle owned by the caller into a new TensorInfo (takes ownership). */
  adopt(h: Handle, dtype?: DataType): TensorInfo {
    const code = this.native.dtype(h);
    const expected = dtype ?? codeToDtype(code);
    if (code !== DTYPE_CODE[expected]) {
      const cast = this.native.call(this.native.op('aten::to', 'dtype'), [h, DTYPE_CODE[expected]]) as Handle;
      this.native.free(h);
      h = cast;
    }
    const shape = this.native.shape(h);
    const dataId = { id: this.nextId++ };
    this.data.set(dataId, { h, values: null, dtype: expected, shape, refCount: 1 });
    return { dataId, shape, dtype: expected };
  }

  /** The handle of a tensor (uploads JS values on first use). Owned by the backend: do not free. */
  handle(info: TensorInfo): Handle {
    const e = this.data.get(info.dataId);
    if (e.h >= 0) return e.h;
    if (e.dtype === 'string' || e.dtype === 'complex64') throw new Error(`torch backend: dtype ${e.dtype} is not supported`);
    e.h = this.native.fromArray(toTyped(e.values!, e.dtype), e.shape, DTYPE_CODE[e.dtype]!);
    e.values = null;
    return e.h;
  }

  override refCount(dataId: DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: DataId): void {
    this.data.get(dataId).refCount++;
  }

  decRef(dataId: DataId): void {
    if (this.data.has(dataId)) this.data.get(dataId).refCount--;
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  override async read(dataId: DataId): Promise<BackendValues> {
    return this.readSync(dataId);
  }

  override readSync(dataId: DataId): BackendValues {
    const e = this.data.get(dataId);
    if (e.values != null) return e.values;
    return this.native.toArray(e.h);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const e = this.data.get(dataId);
    e.refCount--;
    if (!force && e.refCount > 0) return false;
    if (e.h >= 0) this.native.free(e.h);
    this.data.delete(dataId);
    return true;
  }

  disposeIntermediateTensorInfo(info: TensorInfo): void {
    this.disposeData(info.dataId);
  }

  override memory() {
    return {
      unreliable: true,
      liveHandles: this.native.liveHandles(),
      reasons: ['libtorch allocates through its own caching allocators; bytes are tracked by the tfjs engine'],
    } as ReturnType<KernelBackend['memory']>;
  }

  override timerAvailable(): boolean {
    return true;
  }

  override async time(f: () => void): Promise<BackendTimingInfo> {
    const start = util.now();
    f();
    return { kernelMs: util.now() - start };
  }

  override floatPrecision(): 16 | 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    // Handles are released by disposeData; nothing global to free.
  }
}

function toTyped(values: BackendValues, dtype: DataType): ArrayBufferView {
  if (dtype === 'float32') return values instanceof Float32Array ? values : new Float32Array(values as ArrayLike<number>);
  if (dtype === 'int32') return values instanceof Int32Array ? values : new Int32Array(values as ArrayLike<number>);
  if (dtype === 'bool') return values instanceof Uint8Array ? values : new Uint8Array(values as ArrayLike<number>);
  throw new Error(`torch backend: dtype ${dtype} is not supported`);
}
