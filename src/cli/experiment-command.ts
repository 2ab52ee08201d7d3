import path from 'node:path';
import { Command } from 'commander';
import { setPreprocessor } from '../experiments/preprocess-hook.js';
import { toolboxPreprocessor } from '../experiments/toolbox-preprocessor.js';
import { assertInputsExist, loadExperiment } from '../experiments/load-experiment.js';
import { assertPreprocessAvailable } from '../experiments/preprocess-hook.js';
import { DEFAULT_QUEUE_NAME } from '../experiments/queue-connection.js';
import { runOnQueue } from '../experiments/queue-run.js';
import { runLocal } from '../experiments/run-local.js';
import { runVotes } from '../experiments/vote-variant.js';
import { writeReport } from '../experiments/write-report.js';
import { UserError } from '../util/errors.js';
import { parseInteger } from './parse-number.js';

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

interface ExperimentFlags {
  folds?: number;
  queue?: string;
  queueName?: string;
  only?: string[];
  project?: string;
  reportOnly?: boolean;
  reportDir?: string;
  quiet?: boolean;
}

export function experimentCommand(): Command {
  return new Command('experiment')
    .description('train every variant of an experiment file (base config + named overrides, optional k-fold) and write report.md and report.html')
    .argument('<file>', 'experiment YAML/JSON: name, base (train config keys), folds, appendix, variants: {NAME: {description, overrides, preprocess} or {description, vote: [NAME, ...]}}')
    .option('--folds <k>', 'k-fold cross-validation: each variant trains k times (overrides the file\'s `folds`; 0 = one split)', parseInteger)
    .option('--queue <url>', 'put each run on a BullMQ queue at redis://HOST:PORT and wait for `plumage worker`s to train them (also `queue:` in the file)')
    .option('--queue-name <name>', `queue name (workers must use the same; default ${DEFAULT_QUEUE_NAME})`)
    .option('--only <variants>', 'train only these variants (comma-separated); the others are still validated', list)
    .option('--project <dir>', 'folder holding experiments (overrides the base config\'s `project`; runs go to <project>/<experiment>/<variant>[-fold<k>])')
    .option('--report-only', 'rebuild report.md and report.html from the run folders without training')
    .option('--report-dir <dir>', 'write report.md, report.html and the best variant\'s <variant>.submission.csv there (default: the experiment folder)')
    .option('--quiet', 'no per-epoch progress bars when training in this process')
    .action(async (file: string, flags: ExperimentFlags) => {
      setPreprocessor(toolboxPreprocessor); // detection crops and super-resolution (src/preprocess)
      const plan = loadExperiment(file, { folds: flags.folds, project: flags.project, only: flags.only });
      const log = (m: string) => console.error(m);
      const report = async () => {
        const r = await writeReport(plan, flags.reportDir ? path.resolve(flags.reportDir) : undefined);
        console.log(`report: ${r.md}\n        ${r.html}${r.submission ? `\n        ${r.submission} (best variant's test predictions)` : ''}`);
      };
      if (!flags.reportOnly) {
        assertPreprocessAvailable(plan.runs, file);
        assertInputsExist(plan);
        log(`plumage experiment: ${plan.name}: ${plan.runs.length} run(s) of ${new Set(plan.runs.map((r) => r.variant)).size} variant(s)${plan.votes.length ? ` + ${plan.votes.length} vote(s)` : ''} -> ${plan.dir}`);
        const queue = flags.queue ?? plan.queue;
        const queueName = flags.queueName ?? plan.queueName ?? DEFAULT_QUEUE_NAME;
        const failures = queue ? await runOnQueue(plan, queue, queueName, log) : await runLocal(plan, { quiet: flags.quiet ?? false, log });
        failures.push(...(await runVotes(plan.votes, log))); // vote rows: the soft vote of finished runs' saved probabilities
        await report();
        if (failures.length) throw new UserError(`${failures.length} run(s) failed (the report lists the others):\n${failures.map((f) => `  ${f.runName}: ${f.reason}`).join('\n')}`, 1);
        return;
      }
      await report();
    });
}
