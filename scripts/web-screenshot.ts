/**
 * Screenshot of the web app for the docs: serves a run, classifies one image in headless chromium and saves the page.
 *   npx tsx scripts/web-screenshot.ts --run runs/x --image bird.jpg [--out docs/web-app.png]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { selectBackend } from '../src/runtime/backend.js';
import { loadModelRunner } from '../src/serve/model-runner.js';
import { serveOptionsSchema } from '../src/serve/options.js';
import { buildServer } from '../src/serve/server.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt?: string) => {
  const i = argv.indexOf(name);
  const v = i >= 0 ? argv[i + 1] : dflt;
  if (v === undefined) throw new Error(`give ${name}`);
  return v;
};
const run = opt('--run');
const image = opt('--image');
const out = opt('--out', 'docs/web-app.png');

const backend = await selectBackend('auto', () => {});
const app = await buildServer(await loadModelRunner(run), { ...serveOptionsSchema.parse({ run }), logLevel: 'silent', backend });
const url = await app.listen({ port: 0, host: '127.0.0.1' });
const ctx = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-chromium-')), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1040, height: 560 },
});
try {
  const page = await ctx.newPage();
  await page.goto(url);
  await page.waitForSelector('body[data-state=idle]');
  await page.setInputFiles('#file', image);
  await page.waitForSelector('body[data-state=done]', { timeout: 60_000 });
  await page.screenshot({ path: out });
  console.log(`wrote ${out}: ${await page.textContent('#top-label')}`);
} finally {
  await ctx.close();
  await app.close();
}
