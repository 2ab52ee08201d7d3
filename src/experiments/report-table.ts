import type { VariantRow } from './collect-runs.js';

export const TABLE_HEADER = ['variant', 'description', 'val macro F1', 'runs finished', 'time', 'train img/s', 'infer img/s'];

function duration(s: number | undefined): string {
  if (s === undefined) return '–';
  if (s < 90) return `${s.toFixed(0)} s`;
  if (s < 5400) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(2)} h`;
}

const rate = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(1));

/** F1 cell: mean, ± sample std dev and the min–max range over folds when there are several. */
export function f1Cell(r: VariantRow): string {
  if (r.f1Mean === undefined) return r.runs.some((x) => x.started) ? 'unfinished' : 'not run';
  if (r.f1Std === undefined) return r.f1Mean.toFixed(4);
  return `${r.f1Mean.toFixed(4)} ± ${r.f1Std.toFixed(4)} (${r.f1Min!.toFixed(4)}–${r.f1Max!.toFixed(4)})`;
}

/** One row of cells per variant, the variant's name first. */
export function tableCells(rows: VariantRow[]): string[][] {
  return rows.map((r) => [r.name, r.description ?? '', f1Cell(r), `${r.finished}/${r.runs.length}`, duration(r.seconds), rate(r.trainImagesPerSec), rate(r.inferImagesPerSec)]);
}
