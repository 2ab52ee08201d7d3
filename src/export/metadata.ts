/** What every export records about its run: classes, input contract, source checkpoint (by SHA-256). */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { decodeSizeFor, preprocessingSpec } from '../augment/model-input.js';
import { UserError } from '../util/errors.js';

export type ExportFormat = 'tfjs' | 'onnx';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['tfjs', 'onnx'];

export interface ExportMetadata {
  plumageExport: 1;
  format: ExportFormat;
  /** Architecture id from the checkpoint (`resnet-mini`, `transfer-full:mobilenetv2-inat-birds`...). */
  model: string;
  classes: string[];
  inputSize: number;
  decodeSize: number;
  preprocessing: Record<string, unknown>;
  /** The network's output: logits [N, classes] (the ONNX graph also has `probs`, their softmax). */
  output: string;
  checkpoint: string;
  checkpointSha256: string;
}

/** The checkpoint a run folder predicts with: weights/best.ckpt, else weights/last.ckpt (fine-tunes), or a .ckpt path. */
export function resolveCheckpoint(runOrCheckpoint: string): string {
  if (runOrCheckpoint.endsWith('.ckpt')) {
    if (!fs.existsSync(runOrCheckpoint)) throw new UserError(`--run: no checkpoint at ${runOrCheckpoint}`);
    return runOrCheckpoint;
  }
  for (const f of ['best.ckpt', 'last.ckpt']) {
    const p = path.join(runOrCheckpoint, 'weights', f);
    if (fs.existsSync(p)) return p;
  }
  throw new UserError(`--run: no checkpoint at ${path.join(runOrCheckpoint, 'weights', 'best.ckpt')}`);
}

export function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export function exportMetadata(format: ExportFormat, meta: { model: string; classes: string[]; inputSize: number }, checkpoint: string): ExportMetadata {
  return {
    plumageExport: 1,
    format,
    model: meta.model,
    classes: meta.classes,
    inputSize: meta.inputSize,
    decodeSize: decodeSizeFor(meta.inputSize),
    preprocessing: preprocessingSpec(meta.inputSize),
    output: format === 'onnx' ? 'logits [N, classes] and probs (softmax of logits)' : 'logits [N, classes] (apply softmax for probabilities)',
    checkpoint: path.resolve(checkpoint),
    checkpointSha256: sha256File(checkpoint),
  };
}

/** Reads `export.json` from an export folder; null when absent or unreadable. */
export function readExportMetadata(dir: string): ExportMetadata | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'export.json'), 'utf8')) as ExportMetadata;
  } catch {
    return null;
  }
}
