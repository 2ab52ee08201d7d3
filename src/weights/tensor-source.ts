/**
 * A named-tensor source the HF loader reads by key: one safetensors file, a sharded safetensors checkpoint
 * (model.safetensors.index.json), or a PyTorch pytorch_model.bin (single or sharded).
 */
import { SafetensorsError, SafetensorsFile, type Float32Tensor } from './safetensors.js';

export interface TensorSource {
  /** The file (or index) in error messages. */
  path: string;
  keys(): string[];
  /** The tensor's shape, undefined when absent. */
  shapeOf(name: string): number[] | undefined;
  read(name: string): Promise<Float32Tensor>;
  close(): Promise<void>;
}

export function safetensorsSource(f: SafetensorsFile): TensorSource {
  return {
    path: f.path,
    keys: () => f.keys(),
    shapeOf: (name) => f.tensors.get(name)?.shape,
    read: (name) => f.read(name),
    close: () => f.close(),
  };
}

/** Several sources seen as one (the shards of an index); a key present in two shards is an error. */
export function mergedSource(path: string, parts: TensorSource[]): TensorSource {
  const owner = new Map<string, TensorSource>();
  for (const p of parts) {
    for (const k of p.keys()) {
      if (owner.has(k)) throw new SafetensorsError(`${path}: tensor '${k}' is in both ${owner.get(k)!.path} and ${p.path}`);
      owner.set(k, p);
    }
  }
  return {
    path,
    keys: () => [...owner.keys()],
    shapeOf: (name) => owner.get(name)?.shapeOf(name),
    read: (name) => {
      const p = owner.get(name);
      if (!p) throw new SafetensorsError(`${path}: no tensor named '${name}'`);
      return p.read(name);
    },
    close: async () => {
      for (const p of parts) await p.close();
    },
  };
}
