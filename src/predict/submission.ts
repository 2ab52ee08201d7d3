import fs from 'node:fs';
import { writeCsv } from '../data/csv.js';
import { argmaxRows } from '../eval/metrics.js';
import { UserError } from '../util/errors.js';

/** Refuses to replace an existing output file unless overwrite is set. */
export function checkOutputPath(file: string, overwrite: boolean, option: string): void {
  if (fs.existsSync(file) && !overwrite) throw new UserError(`${option}: ${file} already exists (pass --overwrite to replace it)`);
}

/** Writes `id,label` in the given (test.csv) order with species names, atomically. */
export function writeSubmission(file: string, ids: string[], probs: Float32Array, classes: string[]): void {
  const preds = argmaxRows(probs, classes.length);
  writeCsv(file, ['id', 'label'], ids.map((id, i) => [id, classes[preds[i]!]!]));
}

/** Writes `id,<class 1>,...,<class C>` softmax probabilities, atomically. */
export function writeProbabilities(file: string, ids: string[], probs: Float32Array, classes: string[]): void {
  const c = classes.length;
  writeCsv(file, ['id', ...classes], ids.map((id, i) => [id, ...Array.from(probs.subarray(i * c, (i + 1) * c), (p) => p.toFixed(6))]));
}
