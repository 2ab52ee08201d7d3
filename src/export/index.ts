/** `plumage export`: a trained run as a stock tfjs Layers model or an ONNX graph, with its metadata. */
import fs from 'node:fs';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadRun } from '../runs/load-run.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import type { CacheOptions } from '../weights/index.js';
import { type ExportFormat, exportMetadata, type ExportMetadata, resolveCheckpoint } from './metadata.js';
import { toOnnx } from './onnx.js';
import { exportTfjs } from './tfjs.js';

export * from './metadata.js';
export { toOnnx, ONNX_OPSET } from './onnx.js';

/** Main file of an export folder per format. */
export const EXPORT_FILE: Record<ExportFormat, string> = { tfjs: 'model.json', onnx: 'model.onnx' };

/** Default export folder of a run: <run>/export/<format>. */
export function defaultExportDir(runOrCheckpoint: string, format: ExportFormat): string {
  const runDir = runOrCheckpoint.endsWith('.ckpt') ? path.dirname(path.dirname(runOrCheckpoint)) : runOrCheckpoint;
  return path.join(runDir, 'export', format);
}

/** Writes an already loaded model in `format` into `dir` (export.json + the model files); returns the main file. */
export async function exportModel(model: tfl.LayersModel, meta: ExportMetadata, dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const main = path.join(dir, EXPORT_FILE[meta.format]);
  if (meta.format === 'tfjs') await exportTfjs(model, meta, dir);
  else writeFileAtomic(main, toOnnx(model, meta));
  writeFileAtomic(path.join(dir, 'export.json'), JSON.stringify(meta, null, 1) + '\n');
  return main;
}

export interface ExportRunOptions {
  format: ExportFormat;
  /** Output folder (default <run>/export/<format>). */
  output?: string;
  overwrite?: boolean;
  weights?: CacheOptions;
}

/** Loads a run (best checkpoint) and exports it; returns the main file written and the metadata. */
export async function exportRun(run: string, opts: ExportRunOptions): Promise<{ file: string; meta: ExportMetadata }> {
  const checkpoint = resolveCheckpoint(run);
  const dir = opts.output ?? defaultExportDir(run, opts.format);
  const main = path.join(dir, EXPORT_FILE[opts.format]);
  if (fs.existsSync(main) && !opts.overwrite) throw new UserError(`--output: ${main} already exists (pass --overwrite to replace it)`);
  const loaded = await loadRun(checkpoint, 'best', opts.weights);
  try {
    const meta = exportMetadata(opts.format, loaded.meta, checkpoint);
    return { file: await exportModel(loaded.model, meta, dir), meta };
  } finally {
    loaded.model.dispose();
  }
}
