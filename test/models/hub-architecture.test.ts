/**
 * HF checkpoints in every layout plumage reads, loaded into models built from config.json, reproduce the golden
 * outputs: safetensors (single and sharded with an index), pytorch_model.bin, bare backbones (no `swinv2.`/`beit.`
 * prefix, no classifier). The registry resolves folders; other model types are refused by name.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildFromHfConfig } from '../../src/models/hf-config-model.js';
import type { HubArchitectureSpec } from '../../src/models/hub-architecture.js';
import { getArchitecture } from '../../src/models/index.js';
import { selectBackend } from '../../src/runtime/backend.js';
import { loadHfCheckpoint } from '../../src/weights/load-hf-checkpoint.js';
import { openWeights } from '../../src/weights/open-weights.js';
import { readSafetensors, writeSafetensors, type Float32Tensor } from '../../src/weights/safetensors.js';
import { sharedPath } from '../helpers/shared.js';

const golden = sharedPath('golden');

async function outputsOf(dir: string, weights: { format: 'safetensors' | 'pytorch'; files: string[]; index?: string }, numClasses?: number) {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const { model, facts } = buildFromHfConfig(config, dir, { normalize: 'none', outputs: 'all', numClasses });
  const src = await openWeights(weights.format, weights.files, weights.index);
  const report = await loadHfCheckpoint(model, src, facts.modelType, numClasses ?? facts.numLabels);
  await src.close();
  const input = (await readSafetensors(path.join(dir, 'input.safetensors'))).get('pixel_values')!;
  const outs = model.predict(tf.transpose(tf.tensor(input.data, input.shape), [0, 2, 3, 1])) as tf.Tensor[];
  const [logits, pooled] = [outs[0]!.dataSync() as Float32Array, outs[1]!.dataSync() as Float32Array];
  model.dispose();
  return { logits, pooled, report };
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('sharded safetensors, pytorch_model.bin and bare backbones reproduce the golden outputs', { skip: golden.skip, timeout: 120_000 }, async () => {
  await selectBackend('cpu', () => {});
  for (const c of ['swinv2_tiny_padding', 'beit_tiny_relpos_meanpool']) {
    const dir = path.join(golden.path, c);
    const want = await readSafetensors(path.join(dir, 'outputs.safetensors'));
    const wantLogits = want.get('logits')!.data;
    const wantPooled = want.get('pooler_output')!.data;
    const state = await readSafetensors(path.join(dir, 'model.safetensors'));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-shards-'));

    // Two shards + index, as transformers writes them.
    const keys = [...state.keys()];
    const shards = [keys.slice(0, keys.length >> 1), keys.slice(keys.length >> 1)];
    const weightMap: Record<string, string> = {};
    const files: string[] = [];
    for (const [i, ks] of shards.entries()) {
      const name = `model-0000${i + 1}-of-00002.safetensors`;
      await writeSafetensors(path.join(tmp, name), new Map(ks.map((k) => [k, state.get(k)!])));
      ks.forEach((k) => (weightMap[k] = name));
      files.push(path.join(tmp, name));
    }
    fs.writeFileSync(path.join(tmp, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const sharded = await outputsOf(dir, { format: 'safetensors', files, index: path.join(tmp, 'model.safetensors.index.json') });
    assert.ok(maxDiff(sharded.logits, wantLogits) < 1e-4, `${c} sharded: logits`);
    assert.deepEqual(sharded.report.unused, []);
    assert.equal(sharded.report.keptClassifier, true);

    const bin = await outputsOf(dir, { format: 'pytorch', files: [path.join(dir, 'pytorch_model.bin')] });
    assert.ok(maxDiff(bin.logits, wantLogits) < 1e-4, `${c} pytorch_model.bin: logits`);

    // A bare backbone (Swinv2Model / BeitModel state_dict): no prefix, no classifier, plus a derived buffer.
    const prefix = c.startsWith('swin') ? 'swinv2.' : 'beit.';
    const bare = new Map<string, Float32Tensor>();
    for (const [k, t] of state) if (k.startsWith(prefix)) bare.set(k.slice(prefix.length), t);
    bare.set('encoder.layer.0.attention.attention.relative_position_bias.relative_position_index', { shape: [2], data: new Float32Array([0, 1]) });
    await writeSafetensors(path.join(tmp, 'bare.safetensors'), bare);
    const b = await outputsOf(dir, { format: 'safetensors', files: [path.join(tmp, 'bare.safetensors')] }, 5);
    assert.ok(maxDiff(b.pooled, wantPooled) < 1e-4, `${c} bare backbone: pooled features`);
    assert.equal(b.logits.length, 2 * 5, 'a new 5-class head');
    assert.deepEqual(b.report.skipped.sort(), ['classifier.bias', 'classifier.weight']);
    assert.deepEqual(b.report.unused, [], 'the derived buffer is ignored, not reported');
  }
});

test('getArchitecture resolves a model folder (input size from config.json); other model types are refused by name', { skip: golden.skip, timeout: 60_000 }, async () => {
  await selectBackend('cpu', () => {});
  const dir = path.join(golden.path, 'beit_tiny_shared_abs_cls');
  const spec = getArchitecture(dir);
  assert.equal(spec.inputSize, 32);
  assert.match(spec.description, /beit/);
  const model = await spec.build({ numClasses: 3 });
  assert.deepEqual(model.outputs[0]!.shape, [null, 3]);
  assert.equal((spec as HubArchitectureSpec).pinnedName, dir, 'the name that rebuilds exactly this checkpoint');
  model.dispose();

  const vit = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-vit-'));
  fs.writeFileSync(path.join(vit, 'config.json'), JSON.stringify({ model_type: 'vit', image_size: 224 }));
  assert.throws(() => getArchitecture(vit), /model_type "vit" is not supported: plumage builds swinv2 and beit/);
  assert.throws(() => getArchitecture('no-such-preset'), /unknown architecture 'no-such-preset'/);
});
