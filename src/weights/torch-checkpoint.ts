/**
 * PyTorch checkpoints (`pytorch_model.bin`) without PyTorch and without running any of their code: the zip format of
 * torch.save (>= 1.6: `<archive>/data.pkl` + one `<archive>/data/<key>` entry per storage, read with yauzl) and the
 * legacy format (magic, protocol and sys-info pickles, the state_dict pickle, a key list, then the storages' bytes).
 * The pickles go through the restricted unpickler with the torch allowlist (torch-pickle-globals.ts).
 */
import fs from 'node:fs/promises';
import yauzl from 'yauzl';
import { unpickle } from './pickle.js';
import { type Float32Tensor, SafetensorsError, toFloat32 } from './safetensors.js';
import { DTYPE_BYTES, findTorchGlobal, storageLoader, type TorchStorage, type TorchTensorRef } from './torch-pickle-globals.js';
import type { TensorSource } from './tensor-source.js';

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

async function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function zipEntries(file: string): Promise<{ zip: yauzl.ZipFile; entries: Map<string, yauzl.Entry> }> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  const entries = new Map<string, yauzl.Entry>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (e: yauzl.Entry) => {
      entries.set(e.fileName, e);
      zip.readEntry();
    });
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  return { zip, entries };
}

function stateDictOf(value: unknown, source: string): Map<string, TorchTensorRef> {
  let v = value;
  // Some checkpoints wrap the weights: {"state_dict": {...}} or {"model": {...}}.
  if (v instanceof Map && v.get('state_dict') instanceof Map) v = v.get('state_dict');
  if (!(v instanceof Map)) throw new SafetensorsError(`${source}: the pickle does not hold a state_dict (a dict of tensors)`);
  const out = new Map<string, TorchTensorRef>();
  for (const [k, t] of v) {
    if (typeof k !== 'string') continue;
    if (t && typeof t === 'object' && 'storage' in t) out.set(k, t as TorchTensorRef);
  }
  if (out.size === 0) throw new SafetensorsError(`${source}: the state_dict holds no tensors`);
  return out;
}

async function loadZip(file: string): Promise<Map<string, TorchTensorRef>> {
  const { zip, entries } = await zipEntries(file);
  try {
    const pkl = [...entries.keys()].find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
    if (!pkl) throw new SafetensorsError(`${file}: a zip without data.pkl is not a PyTorch checkpoint`);
    const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
    const { load, storages } = storageLoader(file);
    const { value } = unpickle(await readEntry(zip, entries.get(pkl)!), { findGlobal: findTorchGlobal, persistentLoad: load, source: file });
    const dict = stateDictOf(value, file);
    for (const s of storages.values()) {
      const e = entries.get(`${prefix}data/${s.key}`);
      if (!e) throw new SafetensorsError(`${file}: storage ${s.key} is missing (${prefix}data/${s.key})`);
      s.data = await readEntry(zip, e);
    }
    return dict;
  } finally {
    zip.close();
  }
}

function loadLegacy(buf: Buffer, file: string): Map<string, TorchTensorRef> {
  const plain = { findGlobal: findTorchGlobal, source: file };
  const magic = unpickle(buf, plain, 0);
  if (BigInt(magic.value as number | bigint) !== LEGACY_MAGIC) throw new SafetensorsError(`${file}: not a PyTorch checkpoint (neither a zip nor the legacy format)`);
  const proto = unpickle(buf, plain, magic.end);
  const sys = unpickle(buf, plain, proto.end);
  const { load, storages } = storageLoader(file);
  const main = unpickle(buf, { ...plain, persistentLoad: load }, sys.end);
  const keys = unpickle(buf, plain, main.end);
  if (!Array.isArray(keys.value)) throw new SafetensorsError(`${file}: legacy checkpoint without its storage key list`);
  let pos = keys.end;
  for (const k of keys.value as unknown[]) {
    const s = storages.get(String(k));
    if (!s) throw new SafetensorsError(`${file}: storage ${String(k)} is listed but never used`);
    if (pos + 8 > buf.length) throw new SafetensorsError(`${file}: truncated at storage ${s.key}`);
    const n = Number(buf.readBigInt64LE(pos));
    pos += 8;
    const bytes = n === s.numel ? n * DTYPE_BYTES[s.dtype] : n;
    if (pos + bytes > buf.length) throw new SafetensorsError(`${file}: truncated at storage ${s.key}`);
    s.data = buf.subarray(pos, pos + bytes);
    pos += bytes;
  }
  return stateDictOf(main.value, file);
}

/** Gathers a (possibly strided) tensor view out of its storage as float32. */
export function materialize(t: TorchTensorRef, name: string, source: string): Float32Tensor {
  const s: TorchStorage = t.storage;
  if (!s.data) throw new SafetensorsError(`${source}: no data for storage ${s.key} ('${name}')`);
  const numel = t.shape.reduce((a, b) => a * b, 1);
  let maxIndex = t.offset;
  t.shape.forEach((d, i) => (maxIndex += d > 0 ? (d - 1) * t.stride[i]! : 0));
  const storageNumel = s.data.length / DTYPE_BYTES[s.dtype];
  if (numel > 0 && maxIndex >= storageNumel) throw new SafetensorsError(`${source}: '${name}' reaches element ${maxIndex} of a ${storageNumel}-element storage`);
  const all = toFloat32(s.data, s.dtype, storageNumel);
  const contiguous = t.stride.every((st, i) => t.shape[i] === 1 || st === t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  if (contiguous) return { shape: [...t.shape], data: all.slice(t.offset, t.offset + numel) };
  const out = new Float32Array(numel);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < numel; i++) {
    let src = t.offset;
    for (let d = 0; d < idx.length; d++) src += idx[d]! * t.stride[d]!;
    out[i] = all[src]!;
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < t.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return { shape: [...t.shape], data: out };
}

/** Reads a pytorch_model.bin (zip or legacy) into tensor references; data is converted per tensor on read. */
export async function openTorchCheckpoint(file: string): Promise<TensorSource> {
  const head = Buffer.alloc(4);
  const fh = await fs.open(file, 'r');
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  const dict = head.readUInt32LE(0) === 0x04034b50 ? await loadZip(file) : loadLegacy(await fs.readFile(file), file);
  return {
    path: file,
    keys: () => [...dict.keys()],
    shapeOf: (name) => dict.get(name)?.shape,
    read: async (name) => {
      const t = dict.get(name);
      if (!t) throw new SafetensorsError(`${file}: no tensor named '${name}'`);
      return materialize(t, name, file);
    },
    close: async () => {},
  };
}
