import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from '../helpers/shared.js';
import { mini, miniImages, startServer, trainTinyRun, type TestServer } from './fixture.js';
import { ensureTfjsExport } from './tfjs-export.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = mini.skip ?? (fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (scripts/setup.sh apt-installs chromium)`);
const webDist = path.join(repoRoot, 'web', 'dist');

/** Builds web/ with Vite when web/dist is missing or older than a source file. */
function ensureWebBuild(): void {
  const newest = (dir: string): number => Math.max(...fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => fs.statSync(path.join(e.parentPath, e.name)).mtimeMs));
  const built = fs.existsSync(path.join(webDist, 'index.html')) ? fs.statSync(path.join(webDist, 'index.html')).mtimeMs : 0;
  const sources = Math.max(newest(path.join(repoRoot, 'web', 'src')), ...['index.html', 'runs.html'].map((f) => fs.statSync(path.join(repoRoot, 'web', f)).mtimeMs), fs.statSync(path.join(repoRoot, 'src', 'serve', 'grad-cam.ts')).mtimeMs);
  if (built > sources) return;
  const r = spawnSync('npm', ['run', 'build:web'], { cwd: repoRoot, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`npm run build:web failed:\n${r.stdout}\n${r.stderr}`);
}

let srv: TestServer;
let ctx: BrowserContext;
let page: Page;
let run: string;

before(async () => {
  if (skip) return;
  ensureWebBuild();
  run = trainTinyRun();
  srv = await startServer(run);
  ctx = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 720 },
  });
  page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
});
after(async () => {
  await ctx?.close();
  await srv?.close();
});

async function apiTop1(file: string): Promise<string> {
  const res = await fetch(`${srv.url}/v1/predict`, { method: 'POST', body: fs.readFileSync(file), headers: { 'content-type': 'image/jpeg' } });
  return ((await res.json()) as { predictions: { top: { label: string }[] }[] }).predictions[0]!.top[0]!.label;
}

async function upload(file: string): Promise<void> {
  await page.evaluate(() => (document.body.dataset.state = 'idle'));
  await page.setInputFiles('#file', file);
  await page.waitForSelector('body[data-state=done], body[data-state=error]', { timeout: 60_000 });
  const err = await page.locator('#status.error').count();
  if (err) throw new Error(`the page shows an error: ${await page.textContent('#status')}`);
}

async function checkRendered(file: string, expectHeat = true): Promise<void> {
  assert.equal((await page.textContent('#top-label'))!.trim(), await apiTop1(file), 'label = the API top-1');
  // Drawn widths: each bar's fill against its track, in pixels, as the browser laid them out.
  const bars = await page.$$eval('#bars li.bar', (lis) =>
    lis.map((li) => ({ label: li.dataset.label, pct: parseFloat(li.querySelector('.pct')!.textContent!), fill: (li.querySelector('.fill') as HTMLElement).getBoundingClientRect().width, track: (li.querySelector('.track') as HTMLElement).getBoundingClientRect().width })),
  );
  assert.equal(bars.length, 5);
  assert.ok(bars.every((b) => b.track > 50 && Math.abs(b.fill - (b.track * b.pct) / 100) <= 1.5), `bar widths follow the probabilities: ${JSON.stringify(bars)}`);
  assert.ok(bars[0]!.fill > 0 && bars[0]!.fill >= bars[4]!.fill, JSON.stringify(bars));
  const img = (sel: string) => page.$eval(sel, (e) => ({ ok: (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth > 0, w: (e as HTMLImageElement).naturalWidth, shown: (e as HTMLElement).offsetWidth }));
  const view = await img('#model-view');
  assert.ok(view.ok && view.w === srv.runner.srcSize, `model view ${JSON.stringify(view)}`);
  if (expectHeat) {
    const heat = await img('#heatmap');
    assert.ok(heat.ok && heat.shown === 256, `heatmap ${JSON.stringify(heat)}`);
  }
}

test('web app, server mode: upload a birds25-mini photo; label, top-5 bars, 64px view and Grad-CAM heatmap render', { skip, timeout: 300_000 }, async () => {
  await page.goto(srv.url);
  await page.waitForSelector('body[data-state=idle]');
  assert.match((await page.textContent('#model-info'))!, /model mini \(resnet-mini, 25 classes, 64px\)/);
  const file = miniImages(1)[0]!;
  await upload(file);
  await checkRendered(file);
  const shot = process.env.PLUMAGE_SCREENSHOT ? path.join(repoRoot, 'docs', 'web-app.png') : path.join(os.tmpdir(), 'plumage-web-app.png');
  await page.screenshot({ path: shot });
  assert.ok(fs.statSync(shot).size > 10_000);
});

test('web app, in-browser mode: a clear message without a tfjs export, then inference in the page from the export', { skip, timeout: 300_000 }, async (t) => {
  await page.goto(srv.url);
  await page.waitForSelector('body[data-state=idle]');
  await page.check('input[name=mode][value=browser]');
  await page.waitForSelector('#status.error');
  assert.match((await page.textContent('#status'))!, /model mini has no tfjs export.*plumage export --run/);

  const how = await ensureTfjsExport(run);
  t.diagnostic(`tfjs export made with: ${how}`);
  const requests: string[] = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(srv.url);
  await page.waitForSelector('body[data-state=idle]');
  await page.check('input[name=mode][value=browser]');
  const file = miniImages(2)[1]!;
  await upload(file);
  assert.match((await page.textContent('#timing'))!, /in this browser \(tfjs (webgl|wasm|cpu)\)/);
  t.diagnostic(`in-browser backend: ${await page.textContent('#timing')}`);
  await checkRendered(file);
  assert.ok(requests.includes('/v1/models/mini/tfjs/model.json'), 'the model was fetched from the export');
  assert.ok(!requests.some((p) => p.startsWith('/v1/predict') || p.startsWith('/v1/explain')), `no server round-trip for the prediction: ${requests.join(' ')}`);
});

test('runs page: config, learning curve, confusion matrix and per-class F1 of the run', { skip, timeout: 120_000 }, async () => {
  await page.goto(`${srv.url}/runs.html`);
  await page.waitForSelector('body[data-state=done]');
  assert.equal((await page.textContent('#run-title'))!.trim(), 'mini');
  for (const sel of ['#learning-curve', '#confusion']) {
    await page.waitForFunction((s) => (document.querySelector(s) as HTMLImageElement).complete, sel);
    assert.ok(await page.$eval(sel, (e) => (e as HTMLImageElement).naturalWidth > 100), sel);
  }
  assert.equal(await page.locator('#per-class tbody tr').count(), 25);
  assert.match((await page.textContent('#config'))!, /model: resnet-mini/);
  assert.match((await page.textContent('#run-summary'))!, /valF1 \d\.\d{4}/);
});
