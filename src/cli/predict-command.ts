import path from 'node:path';
import { Command } from 'commander';
import { loadDaconTest } from '../data/dacon.js';
import { loadImagesWithProgress } from '../data/load-with-progress.js';
import { loadRun } from '../runs/load-run.js';
import { predictProbs } from '../predict/predict-probs.js';
import { checkOutputPath, writeProbabilities, writeSubmission } from '../predict/submission.js';
import { selectBackend, type BackendName } from '../runtime/backend.js';
import { UserError } from '../util/errors.js';

export function predictCommand(): Command {
  return new Command('predict')
    .description('predict test.csv and write submission.csv (id,label in test.csv order); several runs soft-vote')
    .option('--run <dirs>', 'run folder(s) or .ckpt file(s), comma-separated for a soft-vote ensemble')
    .option('--ensemble <dirs>', 'same as --run with several runs: soft-vote their probabilities')
    .option('--data <path>', 'DACON folder with test.csv, or the test CSV itself', '../shared/data/birds25')
    .option('--output <file>', 'submission path (default <first run>/predict/submission.csv)')
    .option('--probs <file>', 'also write per-class probabilities to this CSV')
    .option('--tta', 'horizontal-flip test-time augmentation')
    .option('--overwrite', 'replace existing output files')
    .option('--backend <name>', 'auto | torch | wasm | cpu', 'auto')
    .option('--models-dir <dir>', 'pretrained models folder, for runs fine-tuned from a pretrained backbone (default: the cache)')
    .action(async (flags: { run?: string; ensemble?: string; data: string; output?: string; probs?: string; tta?: boolean; overwrite?: boolean; backend: BackendName; modelsDir?: string }) => {
      const runs = [flags.run, flags.ensemble].filter((v): v is string => !!v).join(',').split(',').map((r) => r.trim()).filter(Boolean);
      if (!runs.length) throw new UserError('predict: give --run <dir> (or --ensemble <dir,dir,...>)');
      const output = flags.output ?? path.join(runs[0]!.endsWith('.ckpt') ? path.dirname(runs[0]!) : runs[0]!, 'predict', 'submission.csv');
      checkOutputPath(output, !!flags.overwrite, '--output');
      if (flags.probs) checkOutputPath(flags.probs, !!flags.overwrite, '--probs');
      await selectBackend(flags.backend);
      let classes: string[] | undefined;
      let sum: Float32Array | undefined;
      let test;
      for (const r of runs) {
        const run = await loadRun(r, 'best', { modelsDir: flags.modelsDir, log: (m) => console.error(m) });
        if (classes && classes.join('\n') !== run.meta.classes.join('\n')) throw new UserError(`--run: ${r} was trained on different classes than ${runs[0]}`);
        classes = run.meta.classes;
        test ??= loadDaconTest(flags.data, classes);
        const size = Math.max(64, run.meta.inputSize);
        const pixels = await loadImagesWithProgress(test.samples.map((s) => s.path), size, `decode (${path.basename(r)})`);
        const probs = await predictProbs(run.model, pixels, size, { inputSize: run.meta.inputSize, hflipTta: flags.tta });
        run.model.dispose();
        if (!sum) sum = probs;
        else for (let i = 0; i < sum.length; i++) sum[i]! += probs[i]!;
      }
      for (let i = 0; i < sum!.length; i++) sum![i]! /= runs.length;
      const ids = test!.samples.map((s) => s.id);
      writeSubmission(output, ids, sum!, classes!);
      if (flags.probs) writeProbabilities(flags.probs, ids, sum!, classes!);
      console.log(`wrote ${output} (${ids.length} rows${runs.length > 1 ? `, soft vote of ${runs.length} runs` : ''})`);
    });
}
