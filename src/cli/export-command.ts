import { Command } from 'commander';
import { z } from 'zod';
import { EXPORT_FORMATS, exportRun, type ExportFormat } from '../export/index.js';
import { selectBackend, type BackendName } from '../runtime/backend.js';
import { UserError } from '../util/errors.js';
import { applyConfigFile } from './apply-config.js';

const EXPORT_CONFIG = z
  .object({ run: z.string().min(1), format: z.enum(EXPORT_FORMATS as [ExportFormat]), output: z.string().min(1), overwrite: z.boolean(), backend: z.enum(['auto', 'torch', 'wasm', 'cpu']), modelsDir: z.string().min(1) })
  .partial();

export function exportCommand(): Command {
  return new Command('export')
    .description('export a trained run as a stock tfjs Layers model (browser/Node) or an ONNX graph (opset 17, NHWC input)')
    .option('--config <file>', 'YAML/JSON file of these options (camelCase keys); flags override it')
    .option('--run <dir>', 'run folder or .ckpt file')
    .option('--format <name>', `${EXPORT_FORMATS.join(' | ')}`, 'onnx')
    .option('--output <dir>', 'output folder (default <run>/export/<format>)')
    .option('--overwrite', 'replace an existing export')
    .option('--backend <name>', 'auto | torch | wasm | cpu (reads the weights)', 'auto')
    .option('--models-dir <dir>', 'pretrained models folder, for runs fine-tuned from a pretrained backbone (default: the cache)')
    .action(async (cliFlags: { config?: string; run?: string; format: string; output?: string; overwrite?: boolean; backend: BackendName; modelsDir?: string }, cmd: Command) => {
      const flags = applyConfigFile(cmd, cliFlags, EXPORT_CONFIG);
      if (!flags.run) throw new UserError('export: give --run <dir>');
      if (!EXPORT_FORMATS.includes(flags.format as ExportFormat)) throw new UserError(`--format: unknown format '${flags.format}' (expected one of ${EXPORT_FORMATS.join(', ')})`);
      await selectBackend(flags.backend);
      const { file, meta } = await exportRun(flags.run, {
        format: flags.format as ExportFormat,
        output: flags.output,
        overwrite: flags.overwrite,
        weights: { modelsDir: flags.modelsDir, log: (m) => console.error(m) },
      });
      console.log(`wrote ${file} (${meta.model}, ${meta.classes.length} classes, input ${meta.inputSize}x${meta.inputSize} NHWC float32 in [0, 1])`);
    });
}
