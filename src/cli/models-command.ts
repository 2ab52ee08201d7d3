import { Command } from 'commander';
import { scanCache, verifyRepo } from '../hub/cache-scan.js';
import { modelFiles } from '../hub/model-files.js';
import { formatModelRef, parseModelRef } from '../hub/model-ref.js';
import { hubSettings } from '../hub/settings.js';
import { listArchitectures } from '../models/index.js';
import { hfConfigFacts } from '../models/hf-config-model.js';
import { listModels, pullModel, verifyModel, type CacheOptions } from '../weights/cache.js';
import { listArtifacts } from '../weights/registry.js';
import { UserError } from '../util/errors.js';

function cacheOptions(flags: { modelsDir?: string; offline?: boolean }): CacheOptions {
  return { modelsDir: flags.modelsDir, offline: flags.offline, log: (m) => console.error(m) };
}

const isArtifact = (id: string) => listArtifacts().some((a) => a.id === id);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** A hub id (ORG/NAME[@REV], hf:...) or model folder, or a UserError naming what is accepted. */
function hubRef(verb: string, id: string) {
  const ref = parseModelRef(id);
  if (!ref) throw new UserError(`models ${verb}: '${id}' is neither a pretrained model (${listArtifacts().map((a) => a.id).join(', ')}) nor a hub id ORG/NAME[@REVISION] / hf:ORG/NAME / model folder`);
  return ref;
}

export function modelsCommand(): Command {
  const cmd = new Command('models').description('list architectures and pretrained models; download (pull) and verify pretrained weights, including Hugging Face hub models');
  cmd
    .command('list')
    .description('list trainable architectures, pretrained weights and the hub models in the Hugging Face cache')
    .option('--models-dir <dir>', 'models/cache folder to look in first (also $PLUMAGE_CACHE)')
    .action(async (flags: { modelsDir?: string }) => {
      console.log('architectures (plumage train --model NAME, or --model ORG/NAME for a Hugging Face swinv2/beit checkpoint):');
      for (const [name, spec] of listArchitectures()) console.log(`  ${name.padEnd(28)} ${String(spec.inputSize).padStart(4)}px  ${spec.description}`);
      console.log('\npretrained weights (plumage models pull ID):');
      for (const s of await listModels(cacheOptions(flags))) {
        console.log(`  ${s.id.padEnd(28)} ${s.format.padEnd(7)} ${s.license.padEnd(11)} ${s.path ? `cached: ${s.path}` : s.error ? `error: ${s.error}` : 'not downloaded'}`);
      }
      const { cacheDir } = hubSettings();
      const repos = scanCache(cacheDir);
      console.log(`\nhub models in ${cacheDir} (plumage models pull ORG/NAME[@REVISION]):${repos.length ? '' : ' none'}`);
      for (const r of repos) {
        const refs = Object.entries(r.refs).map(([k, v]) => `${k}=${v.slice(0, 10)}`).join(' ');
        console.log(`  ${r.repo.padEnd(44)} ${(r.modelType ?? '?').padEnd(7)} ${mib(r.bytes).padStart(11)}  ${refs || Object.keys(r.snapshots).map((c) => c.slice(0, 10)).join(' ')}`);
      }
    });
  cmd
    .command('pull <id>')
    .description('download a pretrained model into the cache (verified): a registry id, or a hub id ORG/NAME[@REVISION] (config.json + weights into the Hugging Face cache)')
    .option('--models-dir <dir>', 'registry models: download into this folder instead of the user cache')
    .option('--offline', 'never use the network: only find an already cached copy (hub: also HF_HUB_OFFLINE=1)')
    .action(async (id: string, flags: { modelsDir?: string; offline?: boolean }) => {
      if (isArtifact(id)) {
        const r = await pullModel(id, cacheOptions(flags));
        console.log(`${id}: ${r.model}${r.labels ? `\nlabels: ${r.labels}` : ''}`);
        return;
      }
      const ref = hubRef('pull', id);
      const settings = { ...hubSettings(), ...(flags.offline ? { offline: true } : {}) };
      const files = await modelFiles(ref, { settings, log: (m) => console.error(m) });
      const facts = hfConfigFacts(files.config, files.configPath);
      console.log(`${formatModelRef(ref)}${files.commit ? ` (commit ${files.commit})` : ''}: ${facts.modelType}, ${facts.imageSize}px, ${facts.numLabels} labels`);
      console.log(`config: ${files.configPath}`);
      for (const w of files.weights) console.log(`weights (${files.format}): ${w}`);
    });
  cmd
    .command('verify [id]')
    .description('re-hash cached copies against the registry (registry ids) or against the hub etags (hub ids); all when no id')
    .option('--models-dir <dir>', 'also check this folder')
    .action(async (id: string | undefined, flags: { modelsDir?: string }) => {
      const { cacheDir } = hubSettings();
      const artifactIds = id ? (isArtifact(id) ? [id] : []) : listArtifacts().map((a) => a.id);
      const hubRepos = id ? (isArtifact(id) ? [] : [hubRef('verify', id)]) : scanCache(cacheDir).map((r) => parseModelRef(r.repo)!);
      let bad = 0;
      const report = (name: string, results: { file: string; ok: boolean; error?: string }[]) => {
        if (results.length === 0) console.log(`${name}: no local copy`);
        for (const r of results) {
          console.log(`${name}: ${r.ok ? 'ok' : 'FAILED'}  ${r.file}${r.error ? `  (${r.error})` : ''}`);
          if (!r.ok) bad++;
        }
      };
      for (const one of artifactIds) report(one, await verifyModel(one, cacheOptions(flags)));
      for (const ref of hubRepos) {
        if (ref.kind === 'folder') throw new UserError(`models verify: ${ref.dir} is a local folder; only cached hub files have etags to check`);
        report(ref.repo, await verifyRepo(cacheDir, ref.repo));
      }
      if (bad) throw new UserError(`models verify: ${bad} file(s) failed verification`, 1);
    });
  return cmd;
}
