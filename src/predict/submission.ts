import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
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

/** A probabilities CSV as writeProbabilities writes it: ids in row order, class names, a row-major matrix. */
export interface Probabilities {
  file: string;
  classes: string[];
  ids: string[];
  probs: Float32Array;
}

/** Reads a probabilities CSV (`id,<class 1>,...`); malformed rows are refused naming the file and row. */
export function readProbabilities(file: string): Probabilities {
  const rows = parse(fs.readFileSync(file, 'utf8'), { skip_empty_lines: true, bom: true }) as string[][];
  const [header, ...body] = rows;
  if (!header || header[0] !== 'id' || header.length < 3) throw new UserError(`${file}: expected a header id,<class>,<class>,...`);
  const classes = header.slice(1);
  const probs = new Float32Array(body.length * classes.length);
  body.forEach((r, i) => {
    if (r.length !== header.length) throw new UserError(`${file}: row ${i + 2}: ${r.length} columns, expected ${header.length}`);
    for (let c = 0; c < classes.length; c++) probs[i * classes.length + c] = Number(r[c + 1]);
  });
  return { file, classes, ids: body.map((r) => r[0]!), probs };
}
