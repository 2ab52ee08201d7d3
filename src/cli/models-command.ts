import { Command } from 'commander';
import { listArchitectures } from '../models/index.js';

export function modelsCommand(): Command {
  const cmd = new Command('models').description('list architectures and pretrained models');
  cmd
    .command('list')
    .description('list trainable architectures')
    .action(() => {
      for (const [name, spec] of listArchitectures()) console.log(`${name.padEnd(28)} ${String(spec.inputSize).padStart(4)}px  ${spec.description}`);
    });
  return cmd;
}
