/**
 * The allowlist of Python globals a PyTorch state_dict pickle may name: tensor rebuild functions, typed storage
 * classes and collections.OrderedDict. Everything else is refused by the unpickler (src/weights/pickle.ts).
 */
import type { PickleGlobal } from './pickle.js';
import type { SafetensorsDType } from './safetensors.js';

export interface TorchStorage {
  dtype: SafetensorsDType;
  key: string;
  numel: number;
  /** Filled in after unpickling, from the zip entry or the legacy file's storage section. */
  data?: Buffer;
}

export interface TorchTensorRef {
  storage: TorchStorage;
  offset: number;
  shape: number[];
  stride: number[];
}

export const STORAGE_DTYPES: Record<string, SafetensorsDType> = {
  FloatStorage: 'F32', DoubleStorage: 'F64', HalfStorage: 'F16', BFloat16Storage: 'BF16', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

export const DTYPE_BYTES: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** A storage class global (`torch.FloatStorage`): only used as the type tag inside persistent ids. */
export interface StorageType extends PickleGlobal {
  dtype: SafetensorsDType;
}

const ints = (v: unknown, what: string): number[] => {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new Error(`${what}: expected a tuple of ints`);
  return v as number[];
};

function rebuildTensor(args: readonly unknown[]): TorchTensorRef {
  const [storage, offset, size, stride] = args;
  if (!storage || typeof storage !== 'object' || !('dtype' in storage) || !('key' in storage)) throw new Error('_rebuild_tensor: first argument is not a storage');
  if (typeof offset !== 'number') throw new Error('_rebuild_tensor: storage offset is not an int');
  return { storage: storage as TorchStorage, offset, shape: ints(size, 'tensor size'), stride: ints(stride, 'tensor stride') };
}

const isTensor = (v: unknown): v is TorchTensorRef => !!v && typeof v === 'object' && 'storage' in v && 'shape' in v;

export function findTorchGlobal(module: string, name: string): PickleGlobal | null {
  const q = `${module}.${name}`;
  if (q === 'collections.OrderedDict') {
    return {
      qualifiedName: q,
      call: (args) => {
        const m = new Map<unknown, unknown>();
        const items = args[0];
        if (Array.isArray(items)) for (const kv of items) if (Array.isArray(kv) && kv.length === 2) m.set(kv[0], kv[1]);
        return m;
      },
    };
  }
  if (q === 'torch._utils._rebuild_tensor_v2' || q === 'torch._utils._rebuild_tensor') return { qualifiedName: q, call: rebuildTensor };
  if (q === 'torch._utils._rebuild_parameter') {
    return {
      qualifiedName: q,
      call: (args) => {
        if (!isTensor(args[0])) throw new Error('_rebuild_parameter: argument is not a tensor');
        return args[0];
      },
    };
  }
  if (module === 'torch' && name in STORAGE_DTYPES) {
    const st: StorageType = { qualifiedName: q, dtype: STORAGE_DTYPES[name]! };
    return st;
  }
  return null;
}

/** persistent_load for ('storage', storage_type, key, location, numel[, view_metadata]); one object per key. */
export function storageLoader(source: string): { load: (pid: unknown) => TorchStorage; storages: Map<string, TorchStorage> } {
  const storages = new Map<string, TorchStorage>();
  const load = (pid: unknown): TorchStorage => {
    if (!Array.isArray(pid) || pid[0] !== 'storage') throw new Error(`${source}: unsupported persistent id ${JSON.stringify(Array.isArray(pid) ? pid[0] : pid)}`);
    const [, type, key, , numel, view] = pid as [string, StorageType, unknown, unknown, unknown, unknown];
    if (!type || typeof type !== 'object' || !('dtype' in type)) throw new Error(`${source}: persistent id without a storage type`);
    if (view !== undefined && view !== null) throw new Error(`${source}: storage views (legacy view_metadata) are not supported`);
    const k = String(key);
    let s = storages.get(k);
    if (!s) {
      s = { dtype: type.dtype, key: k, numel: Number(numel) };
      storages.set(k, s);
    }
    return s;
  };
  return { load, storages };
}
