/**
 * `plumage train --model ORG/NAME` end to end against a loopback hub serving the golden tiny checkpoints
 * (HF_ENDPOINT): fine-tunes the tiny SwinV2 (safetensors) and BEiT (pytorch_model.bin only) on birds25-mini for one
 * epoch; a second run with HF_HUB_OFFLINE=1 uses the cache and makes no request; the run folder rebuilds the model.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runCliAsync } from '../helpers/cli-async.js';
import { fakeCommit, startFakeHub, type FakeHub } from '../helpers/fake-hub.js';
import { sharedPath } from '../helpers/shared.js';

const mini = sharedPath('data', 'birds25-mini');
const golden = sharedPath('golden');
const skip = mini.skip ?? golden.skip;
let hub: FakeHub;
const read = (c: string, f: string) => fs.readFileSync(path.join(golden.path, c, f));

before(async () => {
  if (skip) return;
  hub = await startFakeHub({
    'tiny-org/swinv2-tiny': { commit: fakeCommit('swin'), files: { 'config.json': read('swinv2_tiny_basic', 'config.json'), 'model.safetensors': read('swinv2_tiny_basic', 'model.safetensors') } },
    'tiny-org/beit-tiny': { commit: fakeCommit('beit'), files: { 'config.json': read('beit_tiny_relpos_meanpool', 'config.json'), 'pytorch_model.bin': read('beit_tiny_relpos_meanpool', 'pytorch_model.bin') } },
  });
});
after(() => hub?.close());

const trainArgs = (model: string, work: string, name: string) => [
  'train', '--model', model, '--data', mini.path, '--val-data', path.join(mini.path, 'val.csv'), '--epochs', '1', '--limit', '100',
  '--batch-size', '16', '--project', work, '--name', name, '--no-tta', '--no-predict-test', '--backend', 'torch',
];

for (const [model, kind] of [['tiny-org/swinv2-tiny', 'swinv2'], ['hf:tiny-org/beit-tiny@main', 'beit']] as const) {
  test(`plumage train --model ${model} through HF_ENDPOINT fine-tunes on birds25-mini, then again offline from the cache`, { skip, timeout: 400_000 }, async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-hub-train-'));
    const env = { HF_ENDPOINT: hub.endpoint, HF_HOME: path.join(work, 'hf'), HF_HUB_OFFLINE: '0' };
    const first = await runCliAsync(trainArgs(model, work, 'online'), { env });
    assert.equal(first.code, 0, first.stderr.slice(-3000));
    assert.match(first.stderr, new RegExp(`hub: tiny-org/${kind}-tiny@[0-9a-f]{40}: ${kind}, \\d+ tensors loaded from 1 (safetensors|pytorch) file\\(s\\); trained from scratch: classifier\\.`));
    assert.match(first.stdout, /val macro F1 \d\.\d{4}/);
    const repoDir = path.join(work, 'hf', 'hub', `models--tiny-org--${kind}-tiny`);
    assert.ok(fs.existsSync(path.join(repoDir, 'refs', 'main')), 'the hub cache is in huggingface_hub layout under HF_HOME/hub');
    assert.ok(fs.existsSync(path.join(work, 'online', 'weights', 'best.ckpt')));

    const n = hub.requests.length;
    const offline = await runCliAsync(trainArgs(model, work, 'offline'), { env: { ...env, HF_HUB_OFFLINE: '1' } });
    assert.equal(offline.code, 0, offline.stderr.slice(-3000));
    assert.match(offline.stdout, /val macro F1 \d\.\d{4}/);
    const evaluate = await runCliAsync(['evaluate', '--run', path.join(work, 'offline')], { env: { ...env, HF_HUB_OFFLINE: '1' } });
    assert.equal(evaluate.code, 0, evaluate.stderr.slice(-3000));
    assert.match(evaluate.stdout, /macro F1\s+\d\.\d{4}/);
    assert.equal(hub.requests.length, n, 'offline runs make no request');
  });
}

test('an unknown repo fails with the hub error naming it (no stack trace)', { skip, timeout: 120_000 }, async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-hub-train-'));
  const r = await runCliAsync(trainArgs('tiny-org/missing', work, 'x'), { env: { HF_ENDPOINT: hub.endpoint, HF_HOME: path.join(work, 'hf'), HF_HUB_OFFLINE: '0' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /plumage: error: hub: tiny-org\/missing@main: config\.json: access denied, HTTP 401/);
});
