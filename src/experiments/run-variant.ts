import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import type { PreprocessSpec } from './experiment-schema.js';
import { runPreprocess } from './preprocess-hook.js';
import { epochsRecorded, isFinished, logAttempt } from './run-state.js';
import { lastCheckpoint, trainConfigSchema, trainVariant, type TrainConfig } from './train-variant.js';

/** What a local runner or a queue worker needs to train one run of an experiment. */
export interface RunJob {
  experimentDir: string;
  variant: string;
  runName: string;
  runDir: string;
  cfg: TrainConfig;
  preprocess?: PreprocessSpec;
}

export interface RunOutcome {
  outcome: 'skipped' | 'trained';
  resumed: boolean;
}

/**
 * Trains one run unless it is finished (summary.json present); a run folder holding a last checkpoint (a killed
 * run) continues from it with `resume: true`. Preprocessing (when declared) runs first and its notes and images are
 * recorded in the run folder's preprocess.json for the report.
 */
export async function runVariant(job: RunJob, opts: { quiet: boolean; log: (m: string) => void }): Promise<RunOutcome> {
  if (isFinished(job.runDir)) return { outcome: 'skipped', resumed: false };
  const parsed = trainConfigSchema.safeParse(job.cfg);
  if (!parsed.success) throw new UserError(`${job.runName}: invalid train config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  let cfg: TrainConfig = parsed.data;
  if (path.resolve(cfg.project, cfg.name ?? '') !== path.resolve(job.runDir)) throw new UserError(`${job.runName}: config project/name does not point at ${job.runDir}`);
  if (job.preprocess) {
    const pre = await runPreprocess(job.experimentDir, job.preprocess, cfg, opts.log);
    cfg = trainConfigSchema.parse({ ...cfg, ...pre.overrides });
    fs.mkdirSync(job.runDir, { recursive: true });
    writeFileAtomic(path.join(job.runDir, 'preprocess.json'), JSON.stringify({ spec: job.preprocess, ...pre }, null, 2));
  }
  const resume = fs.existsSync(lastCheckpoint(job.runDir));
  const done = epochsRecorded(job.runDir).epochs;
  if (resume) opts.log(`${job.runName}: resuming from ${lastCheckpoint(job.runDir)} (${done} epoch${done === 1 ? '' : 's'} recorded)`);
  logAttempt(job.runDir, { event: 'start', resume, epochsDone: done });
  const t0 = Date.now();
  await trainVariant({ ...cfg, resume, existOk: true }, { quiet: opts.quiet });
  logAttempt(job.runDir, { event: 'finish', seconds: (Date.now() - t0) / 1000 });
  return { outcome: 'trained', resumed: resume };
}
