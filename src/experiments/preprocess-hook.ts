import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import type { PreprocessSpec } from './experiment-schema.js';
import type { TrainConfig } from './train-variant.js';

export interface PreprocessRequest {
  /** The variant's `preprocess:` block. */
  spec: PreprocessSpec;
  /** The variant's resolved train config before preprocessing (its `data`, `valData`, `seed`...). */
  cfg: TrainConfig;
  /** An empty folder of its own to write the derived dataset, COCO JSON, crops and preview PNGs into. */
  outDir: string;
  log: (message: string) => void;
}

export interface PreprocessResult {
  /** Train-config keys the variant trains with instead (typically `data` and `valData` pointing into outDir). */
  overrides: Partial<Pick<TrainConfig, 'data' | 'valData'>>;
  /** PNGs for the report (box overlays, crop grids, SR grids), absolute or relative to outDir. */
  images?: string[];
  /** Counts worth reporting, e.g. { noBirdFallbacks: 12 }. */
  notes?: Record<string, number | string>;
}

/** Turns a variant's data into the data it trains on (detection crops, super-resolution). */
export type Preprocessor = (req: PreprocessRequest) => Promise<PreprocessResult>;

let preprocessor: Preprocessor | undefined;

/** Plugs in the implementation (src/preprocess: detection crops and super-resolution, issue 12 items 2-3). */
export function setPreprocessor(p: Preprocessor | undefined): void {
  preprocessor = p;
}

export function preprocessorAvailable(): boolean {
  return preprocessor !== undefined;
}

/** Refuses, before anything trains, variants whose preprocessing cannot run in this build. */
export function assertPreprocessAvailable(runs: { variant: string; preprocess?: PreprocessSpec }[], file: string): void {
  if (preprocessor) return;
  const need = [...new Set(runs.filter((r) => r.preprocess).map((r) => r.variant))];
  if (need.length) {
    throw new UserError(
      `${file}: variant${need.length > 1 ? 's' : ''} ${need.join(', ')} declare${need.length > 1 ? '' : 's'} a \`preprocess:\` step (detection crops / super-resolution), ` +
        'which is not available in this build: no preprocessor is registered with src/experiments/preprocess-hook.ts. Run the other variants with --only.',
    );
  }
}

/** The folder a preprocessing spec writes into: one per (spec, data), shared by the variants and folds that use it. */
export function preprocessDir(experimentDir: string, spec: PreprocessSpec, cfg: TrainConfig): string {
  // a step limited to some splits depends on which images are validation images: the split's settings join the key
  const split = spec.on.length < 3 ? { valFraction: cfg.valFraction, folds: cfg.folds, fold: cfg.fold, seed: cfg.splitSeed ?? cfg.seed } : null;
  const key = createHash('sha256').update(JSON.stringify({ spec, data: cfg.data, valData: cfg.valData ?? null, ...(split ? { split } : {}) })).digest('hex').slice(0, 12);
  return path.join(experimentDir, '_preprocessed', key);
}

/**
 * Runs the registered preprocessor once per folder: its result is kept in `result.json`, written last, so a step
 * that was killed midway starts again in a fresh temporary folder and never leaves a half-written dataset in use.
 */
export async function runPreprocess(experimentDir: string, spec: PreprocessSpec, cfg: TrainConfig, log: (m: string) => void): Promise<PreprocessResult> {
  const dir = preprocessDir(experimentDir, spec, cfg);
  const done = path.join(dir, 'result.json');
  if (fs.existsSync(done)) return JSON.parse(fs.readFileSync(done, 'utf8')) as PreprocessResult;
  if (!preprocessor) throw new UserError('preprocess: no preprocessor is registered (src/experiments/preprocess-hook.ts); detection crops and super-resolution are not available in this build');
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(tmp, { recursive: true });
  const result = await preprocessor({ spec, cfg, outDir: tmp, log });
  const rebase = (p: string) => (p.startsWith(tmp) ? path.join(dir, path.relative(tmp, p)) : path.isAbsolute(p) ? p : path.join(dir, p));
  const fixed: PreprocessResult = {
    overrides: Object.fromEntries(Object.entries(result.overrides).map(([k, v]) => [k, typeof v === 'string' ? rebase(v) : v])),
    images: result.images?.map(rebase),
    notes: result.notes,
  };
  writeFileAtomic(path.join(tmp, 'result.json'), JSON.stringify(fixed, null, 2));
  if (fs.existsSync(dir)) fs.rmSync(tmp, { recursive: true, force: true });
  else fs.renameSync(tmp, dir);
  return JSON.parse(fs.readFileSync(done, 'utf8')) as PreprocessResult;
}
