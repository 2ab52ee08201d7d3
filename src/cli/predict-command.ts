import path from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { resolveCheckpoint } from '../export/metadata.js';
import { resolveInputs } from '../predict/inputs.js';
import { OUTPUT_FORMATS, type OutputFormat, writePredictions } from '../predict/output.js';
import { Predictor, RUNTIMES, type RuntimeChoice, topKRows } from '../predict/predictor.js';
import { predictItems } from '../predict/run-predict.js';
import { checkOutputPath, writeProbabilities, writeSubmission } from '../predict/submission.js';
import { selectBackend, type BackendName } from '../runtime/backend.js';
import { UserError } from '../util/errors.js';
import { applyConfigFile } from './apply-config.js';

function parsePositiveInt(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${option}: '${value}' is not a positive integer`);
  return n;
}

const str = z.string().min(1);
/** Keys a --config file may set (the flags' camelCase names). */
const PREDICT_CONFIG = z.object({
  run: z.union([str, z.array(str)]), ensemble: z.union([str, z.array(str)]), data: str, output: str, format: z.enum(OUTPUT_FORMATS as [OutputFormat]),
  topK: z.number().int().positive(), submission: str, probs: str, tta: z.boolean(), strict: z.boolean(), overwrite: z.boolean(),
  backend: z.enum(['auto', 'torch', 'wasm', 'cpu']), runtime: z.enum(RUNTIMES as [RuntimeChoice]), batchSize: z.number().int().positive(), modelsDir: str,
}).partial();

interface PredictFlags {
  config?: string;
  run?: string;
  ensemble?: string;
  data: string;
  output?: string;
  format: string;
  topK: string;
  submission?: string;
  probs?: string;
  tta?: boolean;
  strict?: boolean;
  overwrite?: boolean;
  backend: BackendName;
  runtime: string;
  batchSize: string;
  modelsDir?: string;
}

export function predictCommand(): Command {
  return new Command('predict')
    .description('predict images (a file, a folder, a glob, a DACON folder or a CSV): top-k labels and probabilities; several runs soft-vote')
    .option('--config <file>', 'YAML/JSON file of these options (camelCase keys: run, data, topK, runtime...); flags override it')
    .option('--run <dirs>', 'run folder(s) or .ckpt file(s), comma-separated for a soft-vote ensemble')
    .option('--ensemble <dirs>', 'same as --run with several runs: soft-vote their probabilities')
    .option('--data <path>', 'an image, a folder (recursive), a glob (quoted), a DACON folder with test.csv, or a CSV with an img_path/path column', '../shared/data/birds25')
    .option('--output <file>', 'predictions file (default <first run>/predict/predictions.<format>)')
    .option('--format <name>', `predictions file format: ${OUTPUT_FORMATS.join(' | ')}`, 'csv')
    .option('--top-k <k>', 'labels per image in the predictions file', '5')
    .option('--submission <file>', 'DACON input (test.csv: id,img_path): submission path, id,label in test.csv order (default <first run>/predict/submission.csv)')
    .option('--probs <file>', 'also write every class probability per image to this CSV')
    .option('--tta', 'horizontal-flip test-time augmentation')
    .option('--strict', 'stop at the first unreadable image (default: report it, predict the others, exit 1 at the end)')
    .option('--overwrite', 'replace existing output files')
    .option('--backend <name>', 'tfjs backend: auto | torch | wasm | cpu', 'auto')
    .option('--runtime <name>', `${RUNTIMES.join(' | ')}: auto runs ONNX Runtime when it loads and the model exports to ONNX (exported into <run>/export/onnx on first use)`, 'auto')
    .option('--batch-size <n>', 'images per forward pass', '64')
    .option('--models-dir <dir>', 'pretrained models folder, for runs fine-tuned from a pretrained backbone (default: the cache)')
    .action(async (cliFlags: PredictFlags, cmd: Command) => {
      const flags = applyConfigFile(cmd, cliFlags, PREDICT_CONFIG);
      const runs = [flags.run, flags.ensemble].filter((v): v is string => !!v).join(',').split(',').map((r) => r.trim()).filter(Boolean);
      if (!runs.length) throw new UserError('predict: give --run <dir> (or --ensemble <dir,dir,...>)');
      if (!OUTPUT_FORMATS.includes(flags.format as OutputFormat)) throw new UserError(`--format: unknown format '${flags.format}' (expected one of ${OUTPUT_FORMATS.join(', ')})`);
      if (!RUNTIMES.includes(flags.runtime as RuntimeChoice)) throw new UserError(`--runtime: unknown runtime '${flags.runtime}' (expected one of ${RUNTIMES.join(', ')})`);
      const format = flags.format as OutputFormat;
      const topK = parsePositiveInt(flags.topK, '--top-k');
      // Checked in this order: outputs named on the command line, the runs, the input, the default outputs.
      for (const [file, opt] of [[flags.output, '--output'], [flags.submission, '--submission'], [flags.probs, '--probs']] as const) if (file) checkOutputPath(file, !!flags.overwrite, opt);
      runs.forEach((r) => resolveCheckpoint(r));
      const inputs = resolveInputs(flags.data);
      const runDir = runs[0]!.endsWith('.ckpt') ? path.dirname(path.dirname(runs[0]!)) : runs[0]!;
      const output = flags.output ?? path.join(runDir, 'predict', `predictions.${format}`);
      const submission = inputs.submission ? (flags.submission ?? path.join(runDir, 'predict', 'submission.csv')) : undefined;
      for (const [file, opt] of [[output, '--output'], [submission, '--submission']] as const) if (file) checkOutputPath(file, !!flags.overwrite, opt);
      await selectBackend(flags.backend);
      const log = (m: string) => console.error(m);
      const predictors: Predictor[] = [];
      for (const r of runs) {
        const p = await Predictor.load(r, { runtime: flags.runtime as RuntimeChoice, batchSize: parsePositiveInt(flags.batchSize, '--batch-size'), weights: { modelsDir: flags.modelsDir, log }, log });
        if (predictors.length && p.classes.join('\n') !== predictors[0]!.classes.join('\n')) throw new UserError(`--run: ${r} was trained on different classes than ${runs[0]}`);
        predictors.push(p);
      }
      const classes = predictors[0]!.classes;
      console.error(`predict: ${inputs.items.length} images (${inputs.kind} ${inputs.source}), ${runs.length} run(s) on ${predictors.map((p) => p.runtime).join(', ')}`);
      const res = await predictItems(predictors, inputs.items, { tta: flags.tta, strict: flags.strict, progress: true });
      predictors.forEach((p) => p.dispose());
      const top = topKRows(res.probs, classes, topK);
      const rows = res.items.map((it, i) => ({ id: it.id, path: it.path, top: top[i]! }));
      if (rows.length) writePredictions(output, format, rows, Math.min(topK, classes.length));
      const ids = res.items.map((it) => it.id);
      if (flags.probs && rows.length) writeProbabilities(flags.probs, ids, res.probs, classes);
      if (submission && !res.failures.length) writeSubmission(submission, ids, res.probs, classes);
      const extra = runs.length > 1 ? `, soft vote of ${runs.length} runs` : '';
      if (rows.length) console.log(`wrote ${output} (${rows.length} rows${extra})`);
      if (submission && !res.failures.length) console.log(`wrote ${submission} (${ids.length} rows, test.csv order)`);
      if (res.failures.length) {
        for (const f of res.failures) console.error(`plumage: skipped ${f.reason}`);
        const sub = submission ? `; ${submission} not written (a submission needs every test image)` : '';
        throw new UserError(`${res.failures.length} of ${inputs.items.length} images could not be read (listed above)${rows.length ? `; the other ${rows.length} are in ${output}` : ''}${sub}`, 1);
      }
    });
}
