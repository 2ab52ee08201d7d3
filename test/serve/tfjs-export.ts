import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadModelRunner } from '../../src/serve/model-runner.js';
import { runCli } from '../helpers/cli.js';

/**
 * Gives a run a tfjs export at <run>/export/tfjs: with `plumage export --format tfjs` where the CLI has it, else
 * (before that verb is merged) the loaded Layers model saved in tfjs's own model.json + weights layout with the same
 * metadata keys (userDefinedMetadata.plumage: classes, inputSize, decodeSize). Returns how it was made.
 */
export async function ensureTfjsExport(run: string): Promise<'plumage export' | 'layers save'> {
  const dir = path.join(run, 'export', 'tfjs');
  const help = runCli(['export', '--help']);
  if (help.code === 0 && help.stdout.includes('Usage: plumage export')) {
    const r = runCli(['export', '--run', run, '--format', 'tfjs', '--output', dir]);
    if (r.code !== 0) throw new Error(`plumage export failed:\n${r.stderr.slice(-2000)}`);
    return 'plumage export';
  }
  const runner = await loadModelRunner(run);
  const model = runner.model!;
  model.setUserDefinedMetadata({ plumage: { classes: runner.classes, inputSize: runner.inputSize, decodeSize: runner.srcSize } });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      fs.mkdirSync(dir, { recursive: true });
      const data = new Uint8Array(tf.io.concatenateArrayBuffers(Array.isArray(a.weightData) ? a.weightData : [a.weightData!]));
      fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), data);
      const json = { format: 'layers-model', generatedBy: 'tfjs-layers', convertedBy: null, modelTopology: a.modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }], userDefinedMetadata: a.userDefinedMetadata };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  runner.dispose();
  return 'layers save';
}
