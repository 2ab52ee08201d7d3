import fs from 'node:fs';
import path from 'node:path';
import { readCsv } from '../data/csv.js';
import type { ExperimentPlan, RunRef } from './load-experiment.js';
import { isFinished, readAttempts } from './run-state.js';

/** Sub-folders of a run whose PNGs the report shows as the variant's extra images (crops, boxes, SR grids). */
export const EXTRA_IMAGE_DIRS = ['images', 'crops', 'boxes', 'sr'];

/** What the report needs from one run folder. */
export interface RunRecord {
  run: RunRef;
  finished: boolean;
  /** The run folder exists but has no summary.json (killed, failed or still training). */
  started: boolean;
  valF1?: number;
  valAccuracy?: number;
  wallSeconds?: number;
  trainImagesPerSec?: number;
  inferImagesPerSec?: number;
  epochs?: number;
  learningCurve?: string;
  confusionMatrix?: string;
  perClass?: { name: string; f1: number }[];
  extraImages: string[];
  notes?: Record<string, number | string>;
  /** Starts recorded in experiment_log.jsonl (more than one: the run was resumed or retried). */
  attempts: number;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
const existing = (f: string): string | undefined => (fs.existsSync(f) ? f : undefined);
const mean = (xs: number[]): number | undefined => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);

function pngsIn(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.png')).sort().map((f) => path.join(dir, f));
}

/** Reads one run folder: summary.json, metrics.csv, val_per_class.csv, the chart PNGs and any extra images. */
export function collectRun(run: RunRef): RunRecord {
  const dir = run.runDir;
  const rec: RunRecord = { run, finished: isFinished(dir), started: fs.existsSync(dir), extraImages: [], attempts: readAttempts(dir).filter((a) => a.event === 'start').length };
  if (!rec.started) return rec;
  let summary: Record<string, unknown> = {};
  if (rec.finished) summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>;
  rec.valF1 = num(summary.valF1) ?? num(summary.valMacroF1);
  rec.valAccuracy = num(summary.valAccuracy);
  rec.wallSeconds = num(summary.wallSeconds);
  rec.inferImagesPerSec = num(summary.inferImagesPerSec);
  const metricsFile = path.join(dir, 'metrics.csv');
  if (fs.existsSync(metricsFile)) {
    const rows = readCsv(metricsFile, ['epoch']);
    rec.epochs = rows.length;
    rec.trainImagesPerSec = mean(rows.map((r) => num(r.trainImagesPerSec)).filter((v): v is number => v !== undefined));
  }
  rec.learningCurve = existing(path.join(dir, 'learning_curve.png'));
  rec.confusionMatrix = existing(path.join(dir, 'val_confusion_matrix.png'));
  const perClass = path.join(dir, 'val_per_class.csv');
  if (fs.existsSync(perClass)) rec.perClass = readCsv(perClass, ['class', 'f1']).map((r) => ({ name: r.class!, f1: Number(r.f1) }));
  const listed = Array.isArray(summary.images) ? (summary.images as unknown[]).filter((p): p is string => typeof p === 'string').map((p) => path.resolve(dir, p)) : [];
  const pre = path.join(dir, 'preprocess.json');
  if (fs.existsSync(pre)) {
    const p = JSON.parse(fs.readFileSync(pre, 'utf8')) as { images?: string[]; notes?: Record<string, number | string> };
    listed.push(...(p.images ?? []).map((f) => path.resolve(dir, f)));
    rec.notes = p.notes;
  }
  rec.extraImages = [...new Set([...listed, ...EXTRA_IMAGE_DIRS.flatMap((d) => pngsIn(path.join(dir, d)))])].filter((f) => f.toLowerCase().endsWith('.png') && fs.existsSync(f));
  return rec;
}

/** One table row: a variant over its folds. */
export interface VariantRow {
  name: string;
  description?: string;
  runs: RunRecord[];
  finished: number;
  f1Mean?: number;
  /** Sample standard deviation over finished folds (undefined with fewer than two). */
  f1Std?: number;
  f1Min?: number;
  f1Max?: number;
  /** Summed wall time of the finished runs. */
  seconds?: number;
  trainImagesPerSec?: number;
  inferImagesPerSec?: number;
}

export function summarizeVariants(plan: ExperimentPlan): VariantRow[] {
  const records = [...plan.runs, ...plan.votes].map(collectRun);
  const names = plan.variants.map((v) => v.name).filter((n) => records.some((r) => r.run.variant === n));
  return names.map((name) => {
    const runs = records.filter((r) => r.run.variant === name);
    const done = runs.filter((r) => r.finished && r.valF1 !== undefined);
    const f1s = done.map((r) => r.valF1!);
    const m = mean(f1s);
    const std = f1s.length > 1 ? Math.sqrt(f1s.reduce((a, f) => a + (f - m!) ** 2, 0) / (f1s.length - 1)) : undefined;
    const secs = done.map((r) => r.wallSeconds).filter((v): v is number => v !== undefined);
    return {
      name,
      description: plan.variants.find((v) => v.name === name)?.description,
      runs,
      finished: done.length,
      f1Mean: m,
      f1Std: std,
      f1Min: f1s.length ? Math.min(...f1s) : undefined,
      f1Max: f1s.length ? Math.max(...f1s) : undefined,
      seconds: secs.length ? secs.reduce((a, b) => a + b, 0) : undefined,
      trainImagesPerSec: mean(done.map((r) => r.trainImagesPerSec).filter((v): v is number => v !== undefined)),
      inferImagesPerSec: mean(done.map((r) => r.inferImagesPerSec).filter((v): v is number => v !== undefined)),
    };
  });
}
