import { Command } from 'commander';
import { setPreprocessor } from '../experiments/preprocess-hook.js';
import { toolboxPreprocessor } from '../experiments/toolbox-preprocessor.js';
import { z } from 'zod';
import { closeWithin, DEFAULT_QUEUE_NAME, LOCK_DEFAULTS } from '../experiments/queue-connection.js';
import { startWorker } from '../experiments/queue-worker.js';
import { mergeOptions, readConfigFile, validateConfig } from '../util/config-file.js';
import { parseInteger, parseNumber } from './parse-number.js';

const workerConfigSchema = z
  .object({
    queue: z.string({ message: 'required: redis://HOST:PORT' }),
    queueName: z.string().default(DEFAULT_QUEUE_NAME),
    concurrency: z.number().int().min(1).default(1),
    lockDuration: z.number().gt(0).default(LOCK_DEFAULTS.lockDurationS),
    stalledInterval: z.number().gt(0).default(LOCK_DEFAULTS.stalledIntervalS),
    maxStalledCount: z.number().int().min(0).default(LOCK_DEFAULTS.maxStalledCount),
    quiet: z.boolean().default(false),
  })
  .strict();

export function workerCommand(): Command {
  return new Command('worker')
    .description('take experiment runs from a BullMQ queue (plumage experiment --queue) and train them into their run folders (a path shared by all workers)')
    .option('--config <file>', 'YAML or JSON file with any of these options (flags override it)')
    .option('--queue <url>', 'Redis server of the queue: redis://HOST:PORT')
    .option('--queue-name <name>', `queue name (default ${DEFAULT_QUEUE_NAME})`)
    .option('--concurrency <n>', 'runs trained at once by this worker (default 1)', parseInteger)
    .option('--lock-duration <s>', `seconds a job stays locked without renewal; a killed worker's job is retried after it (default ${LOCK_DEFAULTS.lockDurationS})`, parseNumber)
    .option('--stalled-interval <s>', `seconds between this worker's checks for jobs of dead workers (default ${LOCK_DEFAULTS.stalledIntervalS})`, parseNumber)
    .option('--max-stalled-count <n>', `times a job may be restarted after its worker died before it is failed (default ${LOCK_DEFAULTS.maxStalledCount})`, parseInteger)
    .option('--quiet', 'no per-epoch progress bars')
    .action(async (flags: Record<string, unknown>) => {
      setPreprocessor(toolboxPreprocessor); // detection crops and super-resolution (src/preprocess)
      const { config, ...rest } = flags;
      const fromFile = typeof config === 'string' ? readConfigFile(config) : {};
      const cfg = validateConfig(workerConfigSchema, mergeOptions(fromFile, rest), typeof config === 'string' ? `${config} + command line` : 'command line');
      const log = (m: string) => console.error(`[worker ${process.pid}] ${m}`);
      const worker = await startWorker({
        url: cfg.queue,
        queueName: cfg.queueName,
        concurrency: cfg.concurrency,
        lockDurationS: cfg.lockDuration,
        stalledIntervalS: cfg.stalledInterval,
        maxStalledCount: cfg.maxStalledCount,
        quiet: cfg.quiet,
        log,
      });
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log(`${signal}: closing (a job in progress goes back to the queue when its lock expires and resumes from its last checkpoint)`);
          void closeWithin({ close: () => worker.close(true), disconnect: () => worker.disconnect() }).finally(resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      process.exit(0);
    });
}
