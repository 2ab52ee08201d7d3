import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';

const MAGIC = 'PLUMAGE-CKPT-1\n';

interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
}

export interface CheckpointMeta {
  model: string;
  numClasses: number;
  inputSize: number;
  classes: string[];
  [key: string]: unknown;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  /** Model weights by name, in model.weights order. */
  weights: { name: string; tensor: tf.Tensor }[];
  /** Extra tensors (optimizer moments). */
  extra: tf.Tensor[];
}

/**
 * One file per checkpoint: magic line, a uint32 JSON header length, the JSON header, then float32 data.
 * Written atomically, so an interrupted save leaves the previous checkpoint intact.
 */
export async function saveCheckpoint(file: string, model: tfl.LayersModel, meta: CheckpointMeta, extra: tf.Tensor[] = []): Promise<void> {
  const named = model.weights.map((w) => ({ name: w.originalName, tensor: w.read() }));
  const all = [...named, ...extra.map((t, i) => ({ name: `extra/${i}`, tensor: t }))];
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const { name, tensor } of all) {
    entries.push({ name, shape: tensor.shape, offset });
    offset += tensor.size * 4;
  }
  const header = Buffer.from(JSON.stringify({ meta, tensors: entries, extraCount: extra.length }));
  const data = new Uint8Array(offset);
  const view = new Float32Array(data.buffer);
  for (let i = 0; i < all.length; i++) view.set(await all[i]!.tensor.data<'float32'>(), entries[i]!.offset / 4);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  writeFileAtomic(file, Buffer.concat([Buffer.from(MAGIC), len, header, data]));
}

export function readCheckpoint(file: string): Checkpoint {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new UserError(`${file}: cannot read checkpoint (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (buf.subarray(0, MAGIC.length).toString() !== MAGIC) throw new UserError(`${file}: not a plumage checkpoint`);
  const headerLen = buf.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  const header = JSON.parse(buf.subarray(start, start + headerLen).toString()) as { meta: CheckpointMeta; tensors: TensorEntry[]; extraCount: number };
  const dataStart = start + headerLen;
  const floats = new Float32Array(buf.buffer.slice(buf.byteOffset + dataStart, buf.byteOffset + buf.length));
  const tensors = header.tensors.map((e) => {
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (e.offset / 4 + size > floats.length) throw new UserError(`${file}: truncated checkpoint (tensor ${e.name})`);
    return { name: e.name, tensor: tf.tensor(floats.subarray(e.offset / 4, e.offset / 4 + size), e.shape, 'float32') };
  });
  const nWeights = tensors.length - header.extraCount;
  return { meta: header.meta, weights: tensors.slice(0, nWeights), extra: tensors.slice(nWeights).map((t) => t.tensor) };
}

/** Copies checkpoint weights into a freshly built model; names and shapes must match in order. */
export function loadWeightsInto(model: tfl.LayersModel, ckpt: Checkpoint, source: string): void {
  const targets = model.weights;
  if (targets.length !== ckpt.weights.length) throw new UserError(`${source}: checkpoint has ${ckpt.weights.length} weights, model '${ckpt.meta.model}' has ${targets.length}`);
  targets.forEach((w, i) => {
    const src = ckpt.weights[i]!;
    if (src.name !== w.originalName || src.tensor.shape.join('x') !== w.shape.join('x')) {
      throw new UserError(`${source}: weight ${i} is ${src.name} ${src.tensor.shape.join('x')}, model expects ${w.originalName} ${w.shape.join('x')}`);
    }
    w.write(src.tensor);
  });
  ckpt.weights.forEach((w) => w.tensor.dispose());
}

/** A run folder's checkpoints: best by validation macro F1, and the last epoch's (with optimizer state). */
export function checkpointPaths(runDir: string): { last: string; best: string } {
  return { last: path.join(runDir, 'weights', 'last.ckpt'), best: path.join(runDir, 'weights', 'best.ckpt') };
}
