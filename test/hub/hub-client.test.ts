/** The hub client against a loopback hub: cache layout, redirect, resume, 404, wrong hash, 401, offline. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { findCached, repoFolder } from '../../src/hub/cache-layout.js';
import { HubHttpError, HubIntegrityError, HubOfflineError } from '../../src/hub/errors.js';
import { hubDownload } from '../../src/hub/hub-download.js';
import { modelFiles } from '../../src/hub/model-files.js';
import { parseModelRef } from '../../src/hub/model-ref.js';
import { hubSettings, type HubSettings } from '../../src/hub/settings.js';
import { fakeCommit, gitSha1, sha256, startFakeHub, type FakeHub } from '../helpers/fake-hub.js';

const weights = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
const config = Buffer.from(JSON.stringify({ model_type: 'swinv2', image_size: 32 }));
const commit = fakeCommit('acme/tiny');
let hub: FakeHub;
const quiet = () => {};

function settings(extra: Partial<HubSettings> = {}): HubSettings {
  return { endpoint: hub.endpoint, offline: false, cacheDir: fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-hub-')), ...extra };
}

before(async () => {
  hub = await startFakeHub({
    'acme/tiny': { commit, files: { 'config.json': config, 'model.safetensors': weights } },
    'acme/private': { commit: fakeCommit('p'), files: { 'config.json': config }, token: 'hf_secret_token' },
  });
});
after(() => hub.close());

test('downloads into huggingface_hub layout (blobs, refs, snapshot symlinks) following the storage redirect; later reads need no network', async () => {
  const s = settings();
  const ref = { repo: 'acme/tiny', revision: 'main', file: 'model.safetensors' };
  const got = await hubDownload(ref, { settings: s, log: quiet });
  assert.equal(got.commit, commit);
  assert.equal(got.fromCache, false);
  assert.deepEqual(fs.readFileSync(got.path), weights);
  const root = repoFolder(s.cacheDir, 'acme/tiny');
  assert.equal(root, path.join(s.cacheDir, 'models--acme--tiny'));
  assert.equal(fs.readFileSync(path.join(root, 'refs', 'main'), 'utf8'), commit);
  const snap = path.join(root, 'snapshots', commit, 'model.safetensors');
  assert.equal(got.path, snap);
  assert.ok(fs.lstatSync(snap).isSymbolicLink());
  assert.equal(fs.readlinkSync(snap), path.join('..', '..', 'blobs', sha256(weights)));
  assert.ok(hub.requests.some((r) => r.url === `/cdn/${sha256(weights)}` && r.method === 'GET'), 'the bytes came through the redirect');
  const cfg = await hubDownload({ ...ref, file: 'config.json' }, { settings: s, log: quiet });
  assert.ok(fs.existsSync(path.join(root, 'blobs', gitSha1(config))), 'regular files are stored under their git blob SHA-1');
  assert.deepEqual(fs.readFileSync(cfg.path), config);

  const n = hub.requests.length;
  const offline = await hubDownload(ref, { settings: { ...s, offline: true }, log: quiet });
  assert.equal(offline.path, snap);
  assert.equal(offline.fromCache, true);
  const pinned = await hubDownload({ ...ref, revision: commit }, { settings: s, log: quiet });
  assert.equal(pinned.path, snap);
  assert.equal(hub.requests.length, n, 'offline and commit-pinned cached reads make no request');
  const again = await hubDownload(ref, { settings: s, log: quiet });
  assert.equal(again.fromCache, true, 'online, a cached blob is not downloaded again');
  assert.ok(hub.requests.slice(n).every((r) => r.method === 'HEAD'), 'only a HEAD to check the revision');
});

test('a connection dropped mid-file is resumed with a Range request and the file verifies', async () => {
  const s = settings();
  hub.dropOnce.add('acme/tiny/model.safetensors');
  const n = hub.requests.length;
  const logs: string[] = [];
  const got = await hubDownload({ repo: 'acme/tiny', revision: 'main', file: 'model.safetensors' }, { settings: s, log: (m) => logs.push(m) });
  assert.deepEqual(fs.readFileSync(got.path), weights);
  const gets = hub.requests.slice(n).filter((r) => r.method === 'GET' && r.url.startsWith('/cdn/'));
  assert.equal(gets.length, 2, JSON.stringify(gets));
  assert.equal(gets[0]!.range, undefined);
  assert.match(gets[1]!.range ?? '', /^bytes=[1-9]\d*-$/);
  assert.equal(gets[1]!.status, 206);
  assert.ok(logs.some((l) => /resuming at byte [1-9]/.test(l)), logs.join('\n'));
  assert.equal(fs.readdirSync(path.join(repoFolder(s.cacheDir, 'acme/tiny'), 'blobs')).filter((f) => f.endsWith('.incomplete')).length, 0);
});

test('a partial .incomplete blob left by an earlier process is resumed, not restarted', async () => {
  const s = settings();
  const blobs = path.join(repoFolder(s.cacheDir, 'acme/tiny'), 'blobs');
  fs.mkdirSync(blobs, { recursive: true });
  fs.writeFileSync(path.join(blobs, `${sha256(weights)}.incomplete`), weights.subarray(0, 1000));
  const n = hub.requests.length;
  const got = await hubDownload({ repo: 'acme/tiny', revision: 'main', file: 'model.safetensors' }, { settings: s, log: quiet });
  assert.deepEqual(fs.readFileSync(got.path), weights);
  assert.equal(hub.requests.slice(n).find((r) => r.method === 'GET')!.range, 'bytes=1000-');
});

test('404: the error names repo, revision and file; nothing is cached', async () => {
  const s = settings();
  await assert.rejects(
    hubDownload({ repo: 'acme/tiny', revision: 'main', file: 'pytorch_model.bin' }, { settings: s, log: quiet }),
    (err: Error) => err instanceof HubHttpError && err.status === 404 && /acme\/tiny@main: pytorch_model\.bin/.test(err.message) && /404/.test(err.message),
  );
  assert.equal(fs.existsSync(repoFolder(s.cacheDir, 'acme/tiny')), false);
});

test('a file whose bytes do not match the hub etag is rejected and the cache is left untouched', async () => {
  const s = settings();
  hub.wrongHash.add('acme/tiny/model.safetensors');
  try {
    await assert.rejects(
      hubDownload({ repo: 'acme/tiny', revision: 'main', file: 'model.safetensors' }, { settings: s, log: quiet }),
      (err: Error) => err instanceof HubIntegrityError && /acme\/tiny@main: model\.safetensors/.test(err.message) && /SHA-256 mismatch/.test(err.message),
    );
  } finally {
    hub.wrongHash.delete('acme/tiny/model.safetensors');
  }
  const root = repoFolder(s.cacheDir, 'acme/tiny');
  const blobs = fs.existsSync(path.join(root, 'blobs')) ? fs.readdirSync(path.join(root, 'blobs')) : [];
  assert.deepEqual(blobs, [], 'no blob and no partial file');
  assert.equal(fs.existsSync(path.join(root, 'snapshots')), false);
  assert.equal(fs.existsSync(path.join(root, 'refs')), false);
});

test('401 without a token names the repo and says to set HF_TOKEN; the token is sent and never printed', async () => {
  const s = settings();
  const ref = { repo: 'acme/private', revision: 'main', file: 'config.json' };
  await assert.rejects(hubDownload(ref, { settings: s, log: quiet }), (err: Error) => err instanceof HubHttpError && err.status === 401 && /acme\/private@main: config\.json/.test(err.message) && /HF_TOKEN/.test(err.message));
  await assert.rejects(hubDownload(ref, { settings: { ...s, token: 'hf_wrong' }, log: quiet }), (err: Error) => err.message.includes('401') && !err.message.includes('hf_wrong'));
  const got = await hubDownload(ref, { settings: { ...s, token: 'hf_secret_token' }, log: quiet });
  assert.deepEqual(fs.readFileSync(got.path), config);
});

test('offline without a cached copy fails naming the file; an unreachable endpoint falls back to the cache', async () => {
  const s = settings();
  const ref = { repo: 'acme/tiny', revision: 'main', file: 'config.json' };
  await assert.rejects(hubDownload(ref, { settings: { ...s, offline: true }, log: quiet }), (err: Error) => err instanceof HubOfflineError && /acme\/tiny@main: config\.json/.test(err.message) && /HF_HUB_OFFLINE/.test(err.message));
  await hubDownload(ref, { settings: s, log: quiet });
  const logs: string[] = [];
  const got = await hubDownload(ref, { settings: { ...s, endpoint: 'http://127.0.0.1:9' }, log: (m) => logs.push(m) });
  assert.equal(got.fromCache, true);
  assert.match(logs.join('\n'), /cannot reach/);
});

test('reads a cache laid out by Python huggingface_hub (refs + snapshot symlinks to blobs) with no network', async () => {
  const s = settings({ endpoint: 'http://127.0.0.1:9', offline: false });
  const root = path.join(s.cacheDir, 'models--org--made-by-python');
  const c = fakeCommit('python');
  fs.mkdirSync(path.join(root, 'blobs'), { recursive: true });
  fs.mkdirSync(path.join(root, 'refs'));
  fs.mkdirSync(path.join(root, 'snapshots', c), { recursive: true });
  fs.writeFileSync(path.join(root, 'blobs', gitSha1(config)), config);
  fs.writeFileSync(path.join(root, 'refs', 'main'), c);
  fs.symlinkSync(path.join('..', '..', 'blobs', gitSha1(config)), path.join(root, 'snapshots', c, 'config.json'));
  assert.equal(findCached(s.cacheDir, 'org/made-by-python', 'main', 'config.json'), path.join(root, 'snapshots', c, 'config.json'));
  const got = await hubDownload({ repo: 'org/made-by-python', revision: 'main', file: 'config.json' }, { settings: { ...s, offline: true }, log: quiet });
  assert.deepEqual(fs.readFileSync(got.path), config);
});

test('settings follow the Python variables; model references parse', () => {
  const s = hubSettings({ HF_HOME: '/x/hf', HF_ENDPOINT: 'http://h:1/', HF_TOKEN: 't', HF_HUB_OFFLINE: 'true' });
  assert.deepEqual(s, { endpoint: 'http://h:1', token: 't', offline: true, cacheDir: '/x/hf/hub' });
  assert.equal(hubSettings({ HF_HOME: '/x/hf', HF_HUB_CACHE: '/y/cache' }).cacheDir, '/y/cache');
  assert.equal(hubSettings({ HF_HOME: '/nonexistent-hf-home' }).offline, false);
  assert.deepEqual(parseModelRef('microsoft/swinv2-base-patch4-window16-256'), { kind: 'hub', repo: 'microsoft/swinv2-base-patch4-window16-256', revision: 'main' });
  assert.deepEqual(parseModelRef('hf:acme/tiny@v1.0'), { kind: 'hub', repo: 'acme/tiny', revision: 'v1.0' });
  assert.equal(parseModelRef('resnet-mini'), null);
  assert.equal(parseModelRef('./no-such-folder'), null);
});

test('modelFiles picks the weights layout and pins every file to the commit config.json came from', async () => {
  const s = settings();
  const ref = parseModelRef('acme/tiny')!;
  const files = await modelFiles(ref, { settings: s, log: quiet });
  assert.equal(files.commit, commit);
  assert.equal(files.format, 'safetensors');
  assert.deepEqual(files.weights, [path.join(repoFolder(s.cacheDir, 'acme/tiny'), 'snapshots', commit, 'model.safetensors')]);
  assert.equal(files.config['model_type'], 'swinv2');
});
