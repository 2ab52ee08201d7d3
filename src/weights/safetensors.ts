/**
 * safetensors reader/writer.
 *
 * Layout: 8-byte little-endian uint64 header length N, N bytes of UTF-8 JSON
 * (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`), then the raw little-endian
 * tensor bytes; offsets are relative to byte 8 + N.
 *
 * `SafetensorsFile.open` reads only the header; each tensor's byte range is read from the file handle on demand, so
 * multi-gigabyte checkpoints never have to sit in memory at once. Every float dtype is returned as float32.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte range relative to the start of the data section. */
  begin: number;
  end: number;
}

export interface Float32Tensor {
  shape: number[];
  data: Float32Array;
}

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** Largest header we accept (the format's reference implementation uses 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Parses and validates the JSON header. `dataBytes` is the size of the data section when known (whole file minus
 * 8 + N), used to detect truncation.
 */
export function parseHeader(json: string, source: string, dataBytes?: number): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new SafetensorsError(`${source}: bad safetensors header: not valid JSON (${(err as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SafetensorsError(`${source}: bad safetensors header: expected a JSON object`);
  }
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (!e || typeof e !== 'object') throw new SafetensorsError(`${source}: bad safetensors header: entry '${name}' is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) {
      throw new SafetensorsError(`${source}: bad safetensors header: tensor '${name}' has unsupported dtype ${JSON.stringify(e.dtype)}`);
    }
    const dtype = e.dtype as SafetensorsDType;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SafetensorsError(`${source}: bad safetensors header: tensor '${name}' has invalid shape ${JSON.stringify(e.shape)}`);
    }
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0) || offs[1] < offs[0]) {
      throw new SafetensorsError(`${source}: bad safetensors header: tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const shape = e.shape as number[];
    const [begin, end] = offs as [number, number];
    const expected = product(shape) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw new SafetensorsError(
        `${source}: bad safetensors header: tensor '${name}' (${dtype} [${shape.join(', ')}]) needs ${expected} bytes but data_offsets span ${end - begin}`,
      );
    }
    if (dataBytes !== undefined && end > dataBytes) {
      throw new SafetensorsError(
        `${source}: truncated safetensors file: tensor '${name}' ends at data byte ${end} but the file holds only ${dataBytes} data bytes`,
      );
    }
    tensors.set(name, { name, dtype, shape: [...shape], begin, end });
  }
  return { tensors, metadata };
}

/** Converts raw little-endian bytes of the given dtype to float32. */
export function toFloat32(bytes: Uint8Array, dtype: SafetensorsDType, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      break;
    case 'BF16': {
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u32[i] = view.getUint16(i * 2, true) << 16;
      break;
    }
    case 'I64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      break;
    case 'I32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      break;
    case 'I16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true);
      break;
    case 'I8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      break;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i);
      break;
  }
  return out;
}

/** IEEE 754 binary16 -> number (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** A safetensors file opened for lazy reads: the header is parsed up front, tensor data is read on demand. */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly dataStart: number,
    readonly tensors: Map<string, TensorInfo>,
    readonly metadata: Record<string, string>,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      if (size < 8) throw new SafetensorsError(`${path}: truncated safetensors file: ${size} bytes, shorter than the 8-byte header length`);
      const lenBuf = Buffer.alloc(8);
      await fh.read(lenBuf, 0, 8, 0);
      const n = lenBuf.readBigUInt64LE(0);
      if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(`${path}: bad safetensors header: header length ${n} is implausibly large`);
      const headerLen = Number(n);
      if (8 + headerLen > size) {
        throw new SafetensorsError(`${path}: truncated safetensors file: header claims ${headerLen} bytes but the file has only ${size - 8} after the length`);
      }
      const headerBuf = Buffer.alloc(headerLen);
      await fh.read(headerBuf, 0, headerLen, 8);
      const { tensors, metadata } = parseHeader(headerBuf.toString('utf8'), path, size - 8 - headerLen);
      return new SafetensorsFile(path, fh, 8 + headerLen, tensors, metadata);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  keys(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new SafetensorsError(`${this.path}: no tensor named '${name}'`);
    return t;
  }

  /** Reads one tensor's bytes (and only those) and converts them to float32. */
  async read(name: string): Promise<Float32Tensor> {
    const t = this.info(name);
    const len = t.end - t.begin;
    const buf = Buffer.alloc(len);
    const { bytesRead } = await this.fh.read(buf, 0, len, this.dataStart + t.begin);
    if (bytesRead !== len) throw new SafetensorsError(`${this.path}: truncated safetensors file while reading '${name}'`);
    return { shape: [...t.shape], data: toFloat32(buf, t.dtype, product(t.shape)) };
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Reads every tensor of a (small) file into memory. */
export async function readSafetensors(path: string): Promise<Map<string, Float32Tensor>> {
  const f = await SafetensorsFile.open(path);
  try {
    const out = new Map<string, Float32Tensor>();
    for (const k of f.keys()) out.set(k, await f.read(k));
    return out;
  } finally {
    await f.close();
  }
}

/** Serialises float32 tensors as a safetensors buffer (F32, keys sorted like the reference writer). */
export function encodeSafetensors(tensors: Record<string, Float32Tensor> | Map<string, Float32Tensor>, metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const entries = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of entries) {
    if (t.data.length !== product(t.shape)) throw new SafetensorsError(`encodeSafetensors: '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.length * 4] };
    offset += t.data.length * 4;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const [, t] of entries) {
    for (let i = 0; i < t.data.length; i++) out.writeFloatLE(t.data[i]!, pos + i * 4);
    pos += t.data.length * 4;
  }
  return out;
}

export async function writeSafetensors(path: string, tensors: Record<string, Float32Tensor> | Map<string, Float32Tensor>, metadata?: Record<string, string>): Promise<void> {
  await writeFile(path, encodeSafetensors(tensors, metadata));
}
