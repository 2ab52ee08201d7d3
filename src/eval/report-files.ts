import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { writeCsv } from '../data/csv.js';
import { confusionMatrixSvg, svgToPng } from './charts.js';
import type { ClassificationReport } from './metrics.js';

/** Writes report.json, per_class.csv, confusion_matrix.csv and confusion_matrix.png (prefixed) into a folder. */
export async function writeReportFiles(dir: string, prefix: string, report: ClassificationReport, classNames: string[], title: string): Promise<void> {
  const p = (name: string) => path.join(dir, `${prefix}${name}`);
  writeFileAtomic(p('report.json'), JSON.stringify({ macroF1: report.macroF1, accuracy: report.accuracy, averagedOver: report.averagedOver, perClass: report.perClass }, null, 2));
  writeCsv(p('per_class.csv'), ['class', 'precision', 'recall', 'f1', 'support', 'predicted'], report.perClass.map((c) => [c.name, c.precision.toFixed(4), c.recall.toFixed(4), c.f1.toFixed(4), c.support, c.predicted]));
  writeCsv(p('confusion_matrix.csv'), ['true\\pred', ...classNames], report.confusion.map((row, i) => [classNames[i]!, ...row]));
  writeFileAtomic(p('confusion_matrix.png'), await svgToPng(confusionMatrixSvg(report.confusion, classNames, title)));
}

/** A fixed-width table of the report for the terminal. */
export function formatReportTable(report: ClassificationReport): string {
  const width = Math.max(5, ...report.perClass.map((c) => c.name.length));
  const lines = [`${'class'.padEnd(width)}  precision  recall     f1  support`];
  for (const c of report.perClass) {
    lines.push(`${c.name.padEnd(width)}  ${c.precision.toFixed(4).padStart(9)}  ${c.recall.toFixed(4).padStart(6)}  ${c.f1.toFixed(4).padStart(5)}  ${String(c.support).padStart(7)}`);
  }
  lines.push(`${'accuracy'.padEnd(width)}  ${''.padStart(9)}  ${''.padStart(6)}  ${report.accuracy.toFixed(4).padStart(5)}`);
  lines.push(`${'macro F1'.padEnd(width)}  ${''.padStart(9)}  ${''.padStart(6)}  ${report.macroF1.toFixed(4).padStart(5)}  (over ${report.averagedOver} classes)`);
  return lines.join('\n');
}
