import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { candidateDirs, defaultCacheDir, IntegrityError, listModels, pullArtifact, resolveArtifact, verifyModel } from '../../src/weights/cache.js';
import type { Artifact } from '../../src/weights/registry.js';

const GOOD = Buffer.from('plumage test artifact\n'.repeat(5000));
const GOOD_SHA = createHash('sha256').update(GOOD).digest('hex');

let server: http.Server;
let base = '';
let hits = 0;

before(async () => {
  server = http.createServer((req, res) => {
    hits++;
    if (req.url === '/good.bin' || req.url === '/wrong.bin') {
      const body = req.url === '/good.bin' ? GOOD : Buffer.from('something else entirely');
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    } else if (req.url === '/truncated.bin') {
      // Promise the whole file, send half, then drop the connection.
      res.writeHead(200, { 'content-length': GOOD.length });
      res.write(GOOD.subarray(0, GOOD.length >> 1), () => res.socket?.destroy());
    } else {
      res.writeHead(404);
      res.end('no');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

function entry(id: string, file: string): Artifact {
  return { id, description: id, format: 'labels', relPath: `sub/${id}.bin`, url: `${base}/${file}`, sha256: GOOD_SHA, size: GOOD.length, license: 'test' };
}

async function tmpdir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'plumage-cache-'));
}

/** Isolated env: no PLUMAGE_CACHE, default cache inside a temp dir. */
function isoEnv(home: string): NodeJS.ProcessEnv {
  return { XDG_CACHE_HOME: home };
}

describe('weights cache', () => {
  it('downloads, verifies and renames into place; second pull uses the cache without network', async () => {
    const dir = await tmpdir();
    const registry = [entry('good', 'good.bin')];
    const opts = { modelsDir: dir, registry, env: isoEnv(dir) };
    const p = await pullArtifact('good', opts);
    assert.equal(p, path.join(dir, 'sub', 'good.bin'));
    assert.deepEqual(await fs.readFile(p), GOOD);
    assert.deepEqual((await fs.readdir(path.join(dir, 'sub'))).sort(), ['good.bin'], 'no temp files left');
    const before = hits;
    assert.equal(await pullArtifact('good', opts), p);
    assert.equal(hits, before, 'no request for a cached, verified file');
  });

  it('a wrong hash is a clear error and leaves no file', async () => {
    const dir = await tmpdir();
    const registry = [entry('bad', 'wrong.bin')];
    await assert.rejects(pullArtifact('bad', { modelsDir: dir, registry, env: isoEnv(dir) }), (err: Error) => {
      assert.ok(err instanceof IntegrityError);
      assert.match(err.message, /SHA-256 mismatch/);
      assert.match(err.message, new RegExp(GOOD_SHA));
      return true;
    });
    const left = existsSync(path.join(dir, 'sub')) ? await fs.readdir(path.join(dir, 'sub')) : [];
    assert.deepEqual(left, []);
  });

  it('a truncated transfer is a clear error and leaves no file', async () => {
    const dir = await tmpdir();
    const registry = [entry('trunc', 'truncated.bin')];
    await assert.rejects(pullArtifact('trunc', { modelsDir: dir, registry, env: isoEnv(dir) }), (err: Error) => {
      assert.match(err.message, /trunc: (truncated download|download from .* was interrupted|download from .* failed)/);
      return true;
    });
    const left = existsSync(path.join(dir, 'sub')) ? await fs.readdir(path.join(dir, 'sub')) : [];
    assert.deepEqual(left, []);
  });

  it('HTTP errors and offline mode are clear errors', async () => {
    const dir = await tmpdir();
    const registry = [entry('missing', 'nope.bin')];
    await assert.rejects(pullArtifact('missing', { modelsDir: dir, registry, env: isoEnv(dir) }), /HTTP 404/);
    await assert.rejects(pullArtifact('missing', { modelsDir: dir, registry, env: isoEnv(dir), offline: true }), /offline/);
    await assert.rejects(pullArtifact('nothing-like-this', { modelsDir: dir, registry, env: isoEnv(dir) }), /unknown pretrained model/);
  });

  it('a corrupt file in a writable cache is replaced by a fresh download', async () => {
    const dir = await tmpdir();
    const registry = [entry('good', 'good.bin')];
    await fs.mkdir(path.join(dir, 'sub'), { recursive: true });
    await fs.writeFile(path.join(dir, 'sub', 'good.bin'), 'half a file');
    const notes: string[] = [];
    const p = await pullArtifact('good', { modelsDir: dir, registry, env: isoEnv(dir), log: (m) => notes.push(m) });
    assert.deepEqual(await fs.readFile(p), GOOD);
    assert.ok(notes.some((n) => /corrupt/.test(n)));
  });

  it('resolution order: explicit dir, PLUMAGE_CACHE, default cache; flat or sub-folder layout; no network', async () => {
    const a = await tmpdir();
    const b = await tmpdir();
    const home = await tmpdir();
    const registry = [{ ...entry('good', 'good.bin'), url: 'http://127.0.0.1:9/unreachable' }];
    // Only in PLUMAGE_CACHE, flat layout.
    await fs.writeFile(path.join(b, 'good.bin'), GOOD);
    const env = { XDG_CACHE_HOME: home, PLUMAGE_CACHE: b };
    assert.equal(await resolveArtifact('good', { registry, env }), path.join(b, 'good.bin'));
    assert.equal(await pullArtifact('good', { registry, env, offline: true }), path.join(b, 'good.bin'));
    // The explicit folder wins.
    await fs.mkdir(path.join(a, 'sub'));
    await fs.writeFile(path.join(a, 'sub', 'good.bin'), GOOD);
    assert.equal(await resolveArtifact('good', { modelsDir: a, registry, env }), path.join(a, 'sub', 'good.bin'));
    const dirs = candidateDirs({ modelsDir: a, env }).map((c) => c.source);
    assert.deepEqual(dirs.slice(0, 3), ['modelsDir', 'PLUMAGE_CACHE', 'default cache']);
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: home }), path.join(home, 'plumage'));
    const listed = await listModels({ registry, env });
    assert.equal(listed[0]!.path, path.join(b, 'good.bin'));
    const v = await verifyModel('good', { modelsDir: a, registry, env });
    assert.equal(v.length, 2);
    assert.ok(v.every((x) => x.ok));
  });

  const shared = path.resolve(import.meta.dirname, '..', '..', '..', 'shared', 'models');
  it('uses the filled ../shared/models folder as-is (coral/ layout) without network', { skip: existsSync(shared) ? false : `skipped: ${shared} is absent` }, async () => {
    const home = await tmpdir();
    const p = await pullArtifact('mobilenetv2-inat-birds', { env: { XDG_CACHE_HOME: home }, offline: true });
    assert.equal(p, path.join(shared, 'coral', 'mobilenet_v2_1.0_224_inat_bird_quant.tflite'));
    const all = await listModels({ env: { XDG_CACHE_HOME: home } });
    assert.equal(all.length, 4);
    assert.ok(all.every((x) => x.path !== null && !x.error), JSON.stringify(all));
  });
});
