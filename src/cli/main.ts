import { Command, CommanderError } from 'commander';
import { UserError } from '../util/errors.js';
import { augmentCommand } from './augment-command.js';
import { detectCommand } from './detect-command.js';
import { evaluateCommand } from './evaluate-command.js';
import { experimentCommand } from './experiment-command.js';
import { exportCommand } from './export-command.js';
import { modelsCommand } from './models-command.js';
import { predictCommand } from './predict-command.js';
import { serveCommand } from './serve-command.js';
import { trainCommand } from './train-command.js';
import { workerCommand } from './worker-command.js';
import { upscaleCommand } from './upscale-command.js';

const program = new Command('plumage')
  .description('plumage: train and run low-resolution bird species classifiers on a CPU (GPU via libtorch)')
  .showHelpAfterError()
  .exitOverride();
program.addCommand(trainCommand());
program.addCommand(evaluateCommand());
program.addCommand(predictCommand());
program.addCommand(exportCommand());
program.addCommand(modelsCommand());
program.addCommand(experimentCommand());
program.addCommand(workerCommand());
program.addCommand(augmentCommand());
program.addCommand(upscaleCommand());
program.addCommand(detectCommand());
program.addCommand(serveCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof UserError) {
    console.error(`plumage: error: ${err.message}`);
    process.exit(err.exitCode);
  }
  console.error(err);
  process.exit(1);
}
