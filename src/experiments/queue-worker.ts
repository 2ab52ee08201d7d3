import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { UserError } from '../util/errors.js';
import { LOCK_DEFAULTS, queueConnection, waitForRedis } from './queue-connection.js';
import type { JobProgress } from './queue-run.js';
import { epochsRecorded } from './run-state.js';
import { runVariant, type RunJob } from './run-variant.js';

export interface WorkerOptions {
  url: string;
  queueName: string;
  concurrency: number;
  lockDurationS: number;
  stalledIntervalS: number;
  maxStalledCount: number;
  quiet: boolean;
  log: (m: string) => void;
}

/** Reports the run's latest recorded epoch and val F1 (from its metrics.jsonl) while it trains. */
function watchProgress(job: Job<RunJob>, everyMs: number): () => void {
  let last = -1;
  const tick = () => {
    const { epochs, lastValF1 } = epochsRecorded(job.data.runDir);
    if (epochs === last) return;
    last = epochs;
    const p: JobProgress = { runName: job.data.runName, epoch: epochs, epochs: job.data.cfg.epochs, valF1: lastValF1 };
    job.updateProgress(p as unknown as object).catch(() => {});
  };
  const timer = setInterval(tick, everyMs);
  tick();
  return () => clearInterval(timer);
}

/**
 * `plumage worker`: takes experiment jobs from the queue and trains each into its run folder (a path every worker
 * must see: a shared file system). Bad input fails the job at once (no retry); a worker that dies mid-job leaves the
 * job to the stalled-job check of the others (see LOCK_DEFAULTS), and the retry resumes from the last checkpoint.
 */
export async function startWorker(opts: WorkerOptions): Promise<Worker<RunJob>> {
  const connection = queueConnection(opts.url);
  const worker = new Worker<RunJob>(
    opts.queueName,
    async (job) => {
      opts.log(`job ${job.id} started: ${job.data.runName} -> ${job.data.runDir} (pid ${process.pid})`);
      const stop = watchProgress(job, 2000);
      try {
        const r = await runVariant(job.data, { quiet: opts.quiet, log: opts.log });
        const { epochs, lastValF1 } = epochsRecorded(job.data.runDir);
        await job.updateProgress({ runName: job.data.runName, epoch: epochs, epochs: job.data.cfg.epochs, valF1: lastValF1 } satisfies JobProgress);
        opts.log(`job ${job.id} ${r.outcome}${r.resumed ? ' (resumed from its last checkpoint)' : ''}: ${job.data.runName}`);
        return { ...r, valF1: lastValF1 };
      } catch (err) {
        opts.log(`job ${job.id} failed: ${(err as Error).message}`);
        if (err instanceof UserError) throw new UnrecoverableError(err.message);
        throw err;
      } finally {
        stop();
      }
    },
    {
      connection,
      concurrency: opts.concurrency,
      lockDuration: opts.lockDurationS * 1000,
      stalledInterval: opts.stalledIntervalS * 1000,
      maxStalledCount: opts.maxStalledCount,
      autorun: false,
    },
  );
  // Connection errors repeat on every reconnect attempt: before the first connection waitForRedis reports them;
  // afterwards each distinct message is logged at most once a minute.
  let ready = false;
  const lastLogged = new Map<string, number>();
  worker.on('error', (err) => {
    const t = lastLogged.get(err.message) ?? 0;
    if (!ready || Date.now() - t < 60_000) return;
    lastLogged.set(err.message, Date.now());
    opts.log(`worker: ${err.message}`);
  });
  await waitForRedis(worker.waitUntilReady(), opts.url);
  ready = true;
  void worker.run();
  opts.log(`worker ${process.pid} waiting for jobs on ${opts.url} (queue '${opts.queueName}', concurrency ${opts.concurrency}, lock ${opts.lockDurationS} s, stalled check every ${opts.stalledIntervalS} s)`);
  return worker;
}

export { LOCK_DEFAULTS };
