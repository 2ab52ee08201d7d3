/**
 * Interoperability with Python's huggingface_hub on one cache: what Python downloaded, plumage reads offline, and
 * the other way round. Needs a python with huggingface_hub (PLUMAGE_HF_PYTHON, ./.venv-hf/bin/python, or python3);
 * skipped with a message otherwise.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { hubDownload } from '../../src/hub/hub-download.js';
import { fakeCommit, startFakeHub, type FakeHub } from '../helpers/fake-hub.js';
import { repoRoot } from '../helpers/shared.js';

const candidates = [process.env.PLUMAGE_HF_PYTHON, path.join(repoRoot, '.venv-hf', 'bin', 'python'), 'python3'].filter(Boolean) as string[];
const python = candidates.find((p) => spawnSync(p, ['-c', 'import huggingface_hub'], { stdio: 'ignore' }).status === 0);
const skip = python ? undefined : 'no python with huggingface_hub (set PLUMAGE_HF_PYTHON or make .venv-hf; see docs/hub.md)';

const weights = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 31) % 256));
const config = Buffer.from(JSON.stringify({ model_type: 'beit' }));
let hub: FakeHub;

before(async () => {
  if (skip) return;
  hub = await startFakeHub({ 'acme/shared-cache': { commit: fakeCommit('shared'), files: { 'config.json': config, 'model.safetensors': weights } } });
});
after(() => hub?.close());

/** Runs Python asynchronously (the loopback hub lives in this process and must keep answering). */
async function py(code: string, env: Record<string, string>): Promise<string> {
  const r = await promisify(execFile)(python!, ['-c', code], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return r.stdout.trim();
}

test('plumage reads, offline, the files Python huggingface_hub downloaded; Python reads, offline, what plumage downloaded', { skip }, async () => {
  const cacheA = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-hf-py-'));
  const got = await py(`from huggingface_hub import hf_hub_download\nprint(hf_hub_download('acme/shared-cache', 'model.safetensors'))`, { HF_HUB_CACHE: cacheA, HF_ENDPOINT: hub.endpoint, HF_HUB_DISABLE_XET: '1' });
  const mine = await hubDownload({ repo: 'acme/shared-cache', revision: 'main', file: 'model.safetensors' }, { settings: { endpoint: 'http://127.0.0.1:9', offline: true, cacheDir: cacheA }, log: () => {} });
  assert.equal(mine.path, got);
  assert.deepEqual(fs.readFileSync(mine.path), weights);

  const cacheB = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-hf-js-'));
  const a = await hubDownload({ repo: 'acme/shared-cache', revision: 'main', file: 'config.json' }, { settings: { endpoint: hub.endpoint, offline: false, cacheDir: cacheB }, log: () => {} });
  const b = await hubDownload({ repo: 'acme/shared-cache', revision: 'main', file: 'model.safetensors' }, { settings: { endpoint: hub.endpoint, offline: false, cacheDir: cacheB }, log: () => {} });
  const n = hub.requests.length;
  const paths = (await py(
    `from huggingface_hub import hf_hub_download\nprint(hf_hub_download('acme/shared-cache', 'config.json'))\nprint(hf_hub_download('acme/shared-cache', 'model.safetensors'))`,
    { HF_HUB_CACHE: cacheB, HF_ENDPOINT: 'http://127.0.0.1:9', HF_HUB_OFFLINE: '1' },
  )).split('\n');
  assert.deepEqual(paths, [a.path, b.path]);
  assert.equal(hub.requests.length, n, 'Python made no request');
});
