/** `plumage models pull|list|verify` with hub ids, against a loopback hub. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runCliAsync } from '../helpers/cli-async.js';
import { fakeCommit, sha256, startFakeHub, type FakeHub } from '../helpers/fake-hub.js';
import { sharedPath } from '../helpers/shared.js';

const golden = sharedPath('golden', 'beit_tiny_noscale_both_bias');
let hub: FakeHub;
const commit = fakeCommit('models-cmd');

before(async () => {
  if (golden.skip) return;
  const read = (f: string) => fs.readFileSync(path.join(golden.path, f));
  hub = await startFakeHub({ 'tiny-org/beit': { commit, files: { 'config.json': read('config.json'), 'pytorch_model.bin': read('pytorch_model.bin') } } });
});
after(() => hub?.close());

test('models pull ORG/NAME fills the hub cache; list shows it; verify re-hashes it and catches a corrupted blob', { skip: golden.skip, timeout: 120_000 }, async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-models-'));
  const env = { HF_ENDPOINT: hub.endpoint, HF_HOME: home, HF_HUB_OFFLINE: '0' };
  const pull = await runCliAsync(['models', 'pull', 'tiny-org/beit'], { env });
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, new RegExp(`hf:tiny-org/beit@main \\(commit ${commit}\\): beit, 24px, \\d+ labels`));
  assert.match(pull.stdout, /weights \(pytorch\): .*models--tiny-org--beit\/snapshots\/[0-9a-f]{40}\/pytorch_model\.bin/);

  const list = await runCliAsync(['models', 'list'], { env: { ...env, HF_HUB_OFFLINE: '1' } });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /tiny-org\/beit\s+beit\s+[\d.]+ MiB\s+main=/);

  const ok = await runCliAsync(['models', 'verify', 'tiny-org/beit'], { env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((ok.stdout.match(/: ok /g) ?? []).length, 2, ok.stdout);

  const blob = path.join(home, 'hub', 'models--tiny-org--beit', 'blobs', sha256(fs.readFileSync(path.join(golden.path, 'pytorch_model.bin'))));
  fs.chmodSync(blob, 0o644);
  fs.appendFileSync(blob, 'x');
  const bad = await runCliAsync(['models', 'verify'], { env });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /tiny-org\/beit: FAILED .*pytorch_model\.bin .*SHA-256 mismatch/);

  const unknown = await runCliAsync(['models', 'pull', 'not an id'], { env });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /neither a pretrained model .* nor a hub id/);
});
