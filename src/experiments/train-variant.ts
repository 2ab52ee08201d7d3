/**
 * The experiment runner's only door into training. Everything in src/experiments trains through these functions,
 * so when the training engine changes, only this file is re-pointed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { resolveTrainConfig } from '../train/resolve-config.js';
import { trainConfigSchema, type TrainConfig } from '../train/config.js';
import { runTraining } from '../train/run-training.js';

export { trainConfigSchema, type TrainConfig };

/**
 * A train config from a plain object (the experiment's base deep-merged with a variant's overrides), with the same
 * defaults `plumage train --config` applies (the recipes' own defaults included). Throws UserError on bad values.
 */
export function resolveVariantConfig(merged: Record<string, unknown>): TrainConfig {
  return resolveTrainConfig(merged);
}

/** Where a run folder keeps the checkpoint a killed run resumes from. */
export function lastCheckpoint(runDir: string): string {
  return path.join(runDir, 'weights', 'last.ckpt');
}

/** Whether this config can train fold `k` of a k-fold split (every recipe of the training engine can). */
export function supportsFolds(_cfg: TrainConfig): boolean {
  return true;
}

/**
 * Trains one config into its run folder `<cfg.project>/<cfg.name>`; the folder then holds summary.json,
 * metrics.csv, learning_curve.png and the val_* report files. `cfg.resume` continues from lastCheckpoint().
 */
export async function trainVariant(cfg: TrainConfig, opts: { quiet: boolean }): Promise<void> {
  const s = await runTraining(cfg, { quiet: opts.quiet });
  if (!fs.existsSync(path.join(s.runDir, 'summary.json'))) throw new Error(`${s.runDir}: training ended without summary.json`);
}
