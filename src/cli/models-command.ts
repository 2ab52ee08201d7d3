import { Command } from 'commander';
import { listArchitectures } from '../models/index.js';
import { listModels, pullModel, verifyModel, type CacheOptions } from '../weights/cache.js';
import { listArtifacts } from '../weights/registry.js';
import { UserError } from '../util/errors.js';

function cacheOptions(flags: { modelsDir?: string; offline?: boolean }): CacheOptions {
  return { modelsDir: flags.modelsDir, offline: flags.offline, log: (m) => console.error(m) };
}

export function modelsCommand(): Command {
  const cmd = new Command('models').description('list architectures and pretrained models; download (pull) and verify pretrained weights');
  cmd
    .command('list')
    .description('list trainable architectures and pretrained weights (with their local cached copy, if any)')
    .option('--models-dir <dir>', 'models/cache folder to look in first (also $PLUMAGE_CACHE)')
    .action(async (flags: { modelsDir?: string }) => {
      console.log('architectures (plumage train --model NAME):');
      for (const [name, spec] of listArchitectures()) console.log(`  ${name.padEnd(28)} ${String(spec.inputSize).padStart(4)}px  ${spec.description}`);
      console.log('\npretrained weights (plumage models pull ID):');
      for (const s of await listModels(cacheOptions(flags))) {
        console.log(`  ${s.id.padEnd(28)} ${s.format.padEnd(7)} ${s.license.padEnd(11)} ${s.path ? `cached: ${s.path}` : s.error ? `error: ${s.error}` : 'not downloaded'}`);
      }
    });
  cmd
    .command('pull <id>')
    .description('download a pretrained model (and its labels) into the cache, verifying SHA-256')
    .option('--models-dir <dir>', 'download into this folder instead of the user cache')
    .option('--offline', 'never use the network: only find an already cached copy')
    .action(async (id: string, flags: { modelsDir?: string; offline?: boolean }) => {
      if (!listArtifacts().some((a) => a.id === id)) throw new UserError(`models pull: unknown model '${id}' (known: ${listArtifacts().map((a) => a.id).join(', ')})`);
      const r = await pullModel(id, cacheOptions(flags));
      console.log(`${id}: ${r.model}${r.labels ? `\nlabels: ${r.labels}` : ''}`);
    });
  cmd
    .command('verify [id]')
    .description('re-hash every cached copy of one model (or all) against the registry')
    .option('--models-dir <dir>', 'also check this folder')
    .action(async (id: string | undefined, flags: { modelsDir?: string }) => {
      const ids = id ? [id] : listArtifacts().map((a) => a.id);
      let bad = 0;
      for (const one of ids) {
        if (!listArtifacts().some((a) => a.id === one)) throw new UserError(`models verify: unknown model '${one}'`);
        const results = await verifyModel(one, cacheOptions(flags));
        if (results.length === 0) console.log(`${one}: no local copy`);
        for (const r of results) {
          console.log(`${one}: ${r.ok ? 'ok' : 'FAILED'}  ${r.file}${r.error ? `  (${r.error})` : ''}`);
          if (!r.ok) bad++;
        }
      }
      if (bad) throw new UserError(`models verify: ${bad} file(s) failed verification`, 1);
    });
  return cmd;
}
