import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { chromium } from 'playwright-core';
import { decodeImage } from '../../src/data/decode.js';
import { exportRun } from '../../src/export/index.js';
import { getArchitecture } from '../../src/models/index.js';
import { Predictor, softmaxRows } from '../../src/predict/predictor.js';
import { toBatch } from '../../src/augment/model-input.js';
import { selectBackend } from '../../src/runtime/backend.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';
import { mini, tempDir, valImages } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = mini.skip ?? (fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (Debian's chromium is needed for the browser test)`);
const tfMin = path.join(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs/package.json')), 'dist', 'tf.min.js');

const PAGE = `<!doctype html><script src="/tf.min.js"></script><script>
(async () => {
  try {
    await tf.setBackend('cpu');
    const model = await tf.loadLayersModel('/model/model.json');
    const meta = model.getUserDefinedMetadata().plumage;
    const s = meta.inputSize;
    const x = new Float32Array(await (await fetch('/x.bin')).arrayBuffer());
    const n = x.length / (s * s * 3);
    const p = tf.softmax(model.predict(tf.tensor4d(x, [n, s, s, 3])));
    window.__result = { probs: Array.from(await p.data()), classes: meta.classes };
  } catch (e) { window.__result = { error: String(e && e.stack || e) }; }
})();
</script>`;

let work = '';
before(() => {
  work = tempDir('browser-tfjs');
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('the tfjs export runs in headless Chromium with stock tf.min.js and predicts what plumage predicts', { skip, timeout: 180_000 }, async () => {
  await selectBackend('auto', () => {});
  const run = path.join(work, 'run');
  const classes = Array.from({ length: 25 }, (_, i) => `bird ${i}`);
  const model = await getArchitecture('resnet-tiny').build({ numClasses: classes.length, inputSize: 32, seed: 5 });
  // Non-trivial batch-norm statistics, so the BatchNorm rewrite is exercised.
  model.weights.forEach((w, i) => {
    if (/moving_mean|beta/.test(w.originalName)) w.write(tf.randomUniform(w.shape as number[], -0.1, 0.1, 'float32', i));
    if (/moving_variance|gamma/.test(w.originalName)) w.write(tf.randomUniform(w.shape as number[], 0.5, 1.5, 'float32', i));
  });
  await saveCheckpoint(path.join(run, 'weights', 'best.ckpt'), model, { model: 'resnet-tiny', numClasses: classes.length, inputSize: 32, classes });
  model.dispose();
  const { file } = await exportRun(run, { format: 'tfjs' });
  const p = await Predictor.load(run, { runtime: 'tfjs' });
  const imgs = valImages().slice(0, 32);
  const px = await Promise.all(imgs.map((v) => decodeImage(fs.readFileSync(v.path), p.decodeSize, v.path)));
  const x = toBatch(px, p.decodeSize, p.inputSize);
  const ref = softmaxRows(await p.logits(x, imgs.length), classes.length);
  p.dispose();

  const routes: Record<string, () => Buffer | string> = {
    '/': () => PAGE,
    '/tf.min.js': () => fs.readFileSync(tfMin),
    '/x.bin': () => Buffer.from(x.buffer),
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x').pathname;
    const f = url.startsWith('/model/') ? path.join(path.dirname(file), path.basename(url)) : '';
    const body = routes[url]?.() ?? (f && fs.existsSync(f) ? fs.readFileSync(f) : undefined);
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': url === '/' ? 'text/html' : url.endsWith('.js') ? 'text/javascript' : 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
    await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 120_000 });
    const result = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as { probs?: number[]; classes?: string[]; error?: string };
    assert.equal(result.error, undefined, result.error);
    assert.deepEqual(result.classes, classes, 'class names from userDefinedMetadata');
    let m = 0;
    result.probs!.forEach((v, i) => (m = Math.max(m, Math.abs(v - ref[i]!))));
    assert.ok(m <= 1e-5, `browser vs plumage: max abs prob difference ${m}`);
    console.log(`browser (stock tf.min.js, cpu backend) vs plumage predict (${tf.getBackend()} backend): max abs prob difference ${m.toExponential(2)} on ${imgs.length} images, probabilities ${Math.min(...ref).toFixed(4)}-${Math.max(...ref).toFixed(4)}`);
  } finally {
    await browser.close();
    server.close();
  }
});
