import type { ExperimentPlan } from './load-experiment.js';
import { runVariant } from './run-variant.js';

export interface RunFailure {
  runName: string;
  reason: string;
}

/** Trains the plan's runs one after another in this process; a failed run is reported and the others still run. */
export async function runLocal(plan: ExperimentPlan, opts: { quiet: boolean; log: (m: string) => void }): Promise<RunFailure[]> {
  const failures: RunFailure[] = [];
  for (const [i, run] of plan.runs.entries()) {
    const tag = `[${i + 1}/${plan.runs.length}] ${run.runName}`;
    try {
      const job = { experimentDir: plan.dir, variant: run.variant, runName: run.runName, runDir: run.runDir, cfg: run.cfg, preprocess: run.preprocess };
      opts.log(`${tag}: ${run.description ?? 'training'} -> ${run.runDir}`);
      const r = await runVariant(job, opts);
      if (r.outcome === 'skipped') opts.log(`${tag}: finished earlier (summary.json present), skipped`);
    } catch (err) {
      const reason = (err as Error).message;
      opts.log(`${tag}: FAILED: ${reason}`);
      failures.push({ runName: run.runName, reason });
    }
  }
  return failures;
}
