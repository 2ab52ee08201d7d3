/** Prediction files: CSV (`id,path,label,prob,label_2,prob_2,...`) or JSON lines, written atomically. */
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { TopK } from './predictor.js';

export type OutputFormat = 'csv' | 'jsonl';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['csv', 'jsonl'];

export interface PredictionRow {
  id: string;
  path: string;
  top: TopK[];
}

const prob = (p: number) => Number(p.toFixed(6));

/** CSV columns: id, path, then label/prob for rank 1 and label_r/prob_r for ranks 2..k. */
export function predictionsCsv(rows: PredictionRow[], k: number): string {
  const cols = ['id', 'path'];
  for (let r = 1; r <= k; r++) cols.push(r === 1 ? 'label' : `label_${r}`, r === 1 ? 'prob' : `prob_${r}`);
  return stringify(rows.map((row) => [row.id, row.path, ...row.top.flatMap((t) => [t.label, prob(t.prob)])]), { header: true, columns: cols });
}

/** One JSON object per line: {id, path, label, prob, top: [{label, prob}, ...]}. */
export function predictionsJsonl(rows: PredictionRow[]): string {
  return rows.map((row) => JSON.stringify({ id: row.id, path: row.path, label: row.top[0]!.label, prob: prob(row.top[0]!.prob), top: row.top.map((t) => ({ label: t.label, prob: prob(t.prob) })) }) + '\n').join('');
}

export function writePredictions(file: string, format: OutputFormat, rows: PredictionRow[], k: number): void {
  writeFileAtomic(file, format === 'csv' ? predictionsCsv(rows, k) : predictionsJsonl(rows));
}
