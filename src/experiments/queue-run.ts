import { createHash } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import cliProgress from 'cli-progress';
import type { ExperimentPlan, PlannedRun } from './load-experiment.js';
import type { RunFailure } from './run-local.js';
import { isFinished } from './run-state.js';
import type { RunJob } from './run-variant.js';
import { closeWithin, DEFAULT_QUEUE_NAME, queueConnection, waitForRedis } from './queue-connection.js';

/** What a worker reports through job.updateProgress. */
export interface JobProgress {
  runName: string;
  epoch: number;
  epochs: number;
  valF1?: number;
}

/** One job id per run folder: re-running the experiment finds the job it queued before. */
export function jobIdFor(plan: ExperimentPlan, run: PlannedRun): string {
  return `${plan.name}__${run.runName}__${createHash('sha256').update(run.runDir).digest('hex').slice(0, 10)}`;
}

/**
 * Puts every unfinished run on the queue as a BullMQ job (finished runs are skipped; a job already waiting or active
 * is kept; a completed or failed one whose run is not finished is replaced), then waits until each job completes or
 * fails, showing progress. Returns the runs that failed.
 */
export async function runOnQueue(plan: ExperimentPlan, url: string, queueName: string, log: (m: string) => void): Promise<RunFailure[]> {
  const connection = queueConnection(url);
  const queue = new Queue<RunJob>(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  queue.on('error', () => {}); // connection errors surface through waitForRedis / the calls below
  events.on('error', () => {});
  try {
    await waitForRedis(Promise.all([queue.waitUntilReady(), events.waitUntilReady()]), url);
    const pending = new Map<string, PlannedRun>();
    for (const run of plan.runs) {
      if (isFinished(run.runDir)) {
        log(`${run.runName}: finished earlier (summary.json present), skipped`);
        continue;
      }
      const id = jobIdFor(plan, run);
      const old = await queue.getJob(id);
      if (old) {
        const state = await old.getState();
        if (state === 'completed' || state === 'failed') await old.remove();
        else {
          log(`${run.runName}: already queued (${state})`);
          pending.set(id, run);
          continue;
        }
      }
      const data: RunJob = { experimentDir: plan.dir, variant: run.variant, runName: run.runName, runDir: run.runDir, cfg: run.cfg, preprocess: run.preprocess };
      await queue.add(run.runName, data, { jobId: id, attempts: 1, removeOnComplete: false, removeOnFail: false });
      pending.set(id, run);
    }
    if (pending.size === 0) return [];
    log(`queued ${pending.size} job(s) on ${url} (queue '${queueName}'); start workers with: plumage worker --queue ${url}${queueName === DEFAULT_QUEUE_NAME ? '' : ` --queue-name ${queueName}`}`);
    return await waitForJobs(queue, events, pending, log);
  } finally {
    await Promise.all([closeWithin(events), closeWithin(queue)]);
  }
}

async function waitForJobs(queue: Queue<RunJob>, events: QueueEvents, pending: Map<string, PlannedRun>, log: (m: string) => void): Promise<RunFailure[]> {
  const total = pending.size;
  const failures: RunFailure[] = [];
  // On a terminal: one bar with the latest worker report; otherwise (logs, CI) one line per report.
  const tty = Boolean(process.stderr.isTTY);
  const bar = new cliProgress.SingleBar(
    { format: 'jobs |{bar}| {value}/{total} | {duration_formatted} elapsed, ETA {eta_formatted} | {latest}', hideCursor: true, etaBuffer: 4, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  const note = (latest: string, done = false) => {
    if (!tty) log(latest);
    if (done) bar.increment({ latest });
    else bar.update({ latest });
  };
  bar.start(total, 0, { latest: 'waiting for workers' });
  events.on('progress', ({ jobId, data }) => {
    if (!pending.has(jobId) || typeof data !== 'object' || data === null) return;
    const p = data as unknown as JobProgress;
    note(`${p.runName}: epoch ${p.epoch}/${p.epochs}${p.valF1 !== undefined ? ` val F1 ${p.valF1.toFixed(4)}` : ''}`);
  });
  try {
    while (pending.size > 0) {
      for (const [id, run] of [...pending]) {
        const job = await queue.getJob(id);
        const state = job ? await job.getState() : 'missing';
        if (state === 'completed' || (state === 'missing' && isFinished(run.runDir))) {
          pending.delete(id);
          if (!isFinished(run.runDir)) failures.push({ runName: run.runName, reason: 'job completed but the run folder has no summary.json' });
          note(`${run.runName}: done`, true);
        } else if (state === 'failed' || state === 'missing') {
          pending.delete(id);
          failures.push({ runName: run.runName, reason: job?.failedReason ?? 'the job was removed from the queue' });
          note(`${run.runName}: FAILED`, true);
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    bar.stop();
  }
  return failures;
}
