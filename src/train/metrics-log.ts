import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { writeCsv } from '../data/csv.js';
import { lineChartSvg, svgToPng } from '../eval/charts.js';

export interface EpochRecord {
  epoch: number;
  /** Training steps done at the end of this epoch. */
  steps: number;
  trainLoss: number;
  valLoss: number;
  valF1: number;
  valAccuracy: number;
  lr: number;
  seconds: number;
  trainImagesPerSec: number;
  numTensors: number;
}

/**
 * Rewrites metrics.jsonl, metrics.csv and learning_curve.png from the whole history (not appended),
 * so a resumed run's files always match its checkpoint.
 */
export async function writeMetricsFiles(runDir: string, history: EpochRecord[]): Promise<void> {
  writeFileAtomic(path.join(runDir, 'metrics.jsonl'), history.map((h) => JSON.stringify(h)).join('\n') + '\n');
  const cols: (keyof EpochRecord)[] = ['epoch', 'steps', 'trainLoss', 'valLoss', 'valF1', 'valAccuracy', 'lr', 'seconds', 'trainImagesPerSec', 'numTensors'];
  writeCsv(path.join(runDir, 'metrics.csv'), cols, history.map((h) => cols.map((c) => h[c])));
  await writeLearningCurve(path.join(runDir, 'learning_curve.png'), history);
}

/** learning_curve.png: train loss (and val loss when known) on the left axis, val macro F1 on the right. */
export async function writeLearningCurve(file: string, history: { epoch: number; trainLoss: number; valLoss?: number; valF1: number }[]): Promise<void> {
  const withValLoss = history.filter((h) => h.valLoss !== undefined);
  const svg = lineChartSvg(
    [
      { name: 'train loss', color: '#1f77b4', axis: 'left', points: history.map((h) => [h.epoch, h.trainLoss]) },
      ...(withValLoss.length ? [{ name: 'val loss', color: '#ff7f0e', axis: 'left' as const, points: withValLoss.map((h) => [h.epoch, h.valLoss!] as [number, number]) }] : []),
      { name: 'val macro F1', color: '#2ca02c', axis: 'right', points: history.map((h) => [h.epoch, h.valF1]) },
    ],
    'Learning curve',
    'epoch',
  );
  writeFileAtomic(file, await svgToPng(svg));
}
