/**
 * bench:serve — `plumage serve` under load: autocannon for --seconds (default 60) at concurrency 1, 8 and 32 on
 * loopback, each request one real 64px birds25 JPEG (cycled), against the CLI server in its own process; p50/p99
 * latency, requests/s, errors, server RSS before/after each run. In the same run, offline images/s of the same model
 * (decode + predictProbs in batches of 64, what `plumage predict` does), measured before each load run and after the
 * last. Writes bench/results/serve.json with total `errors` and `ratio_vs_offline` (concurrency-32 requests/s over the
 * mean of the offline runs right before and right after it).
 *
 *   npm run bench:serve -- --run runs/x [--seconds 60] [--concurrency 1,8,32] [--images 256] [--max-batch 32]
 *                          [--max-wait-ms 5] [--offline-seconds 20] [--out bench/results/serve.json]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { decodeImage } from '../src/data/decode.js';
import { predictProbs } from '../src/predict/predict-probs.js';
import { selectBackend } from '../src/runtime/backend.js';
import { loadModelRunner } from '../src/serve/model-runner.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
const run = opt('--run', '');
if (!run) throw new Error('bench:serve: give --run <run folder> (e.g. a resnet-mini run trained with plumage train)');
const seconds = Number(opt('--seconds', '60'));
const concurrency = opt('--concurrency', '1,8,32').split(',').map(Number);
const nImages = Number(opt('--images', '256'));
const maxBatch = opt('--max-batch', '32');
const maxWaitMs = opt('--max-wait-ms', '5');
const offlineSeconds = Number(opt('--offline-seconds', '20'));
const out = path.resolve(root, opt('--out', 'bench/results/serve.json'));
const dataDir = opt('--data', path.join(root, '..', 'shared', 'data', 'birds25', 'test'));

const files = fs.readdirSync(dataDir).filter((f) => /\.jpe?g$/i.test(f)).sort().slice(0, nImages).map((f) => path.join(dataDir, f));
if (!files.length) throw new Error(`bench:serve: no JPEGs in ${dataDir} (--data)`);
const images = files.map((f) => fs.readFileSync(f));

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Offline images/s: decode every image from its bytes and predict in batches of 64, repeated for `secs`. */
async function offline(secs: number): Promise<{ imagesPerSec: number; images: number; seconds: number }> {
  await selectBackend('auto', () => {});
  const runner = await loadModelRunner(run);
  const t0 = performance.now();
  let done = 0;
  try {
    while (performance.now() - t0 < secs * 1000) {
      const pixels = await Promise.all(images.map((b, i) => decodeImage(b, runner.srcSize, files[i]!)));
      await predictProbs(runner.model!, pixels, runner.srcSize, { inputSize: runner.inputSize, batchSize: 64 });
      done += pixels.length;
    }
  } finally {
    runner.dispose();
  }
  const s = (performance.now() - t0) / 1000;
  return { imagesPerSec: Math.round((done / s) * 10) / 10, images: done, seconds: Math.round(s * 10) / 10 };
}

async function startServer(): Promise<{ url: string; pid: number; stop: () => Promise<number | null> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(root, 'bin', 'plumage.js'), 'serve', '--run', run, '--port', String(port), '--max-batch', maxBatch, '--max-wait-ms', maxWaitMs, '--max-queue', '1024', '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error('bench:serve: the server exited');
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, pid: child.pid!, stop: () => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM'))) };
}

async function load(url: string, connections: number, duration: number) {
  const requests = images.map((body) => ({ method: 'POST' as const, path: '/v1/predict', headers: { 'content-type': 'image/jpeg' }, body }));
  const r = await autocannon({ url, connections, duration, requests });
  return {
    requestsPerSec: Math.round(r.requests.average * 10) / 10,
    latencyMs: { p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.mean, max: r.latency.max },
    requests: r.requests.total,
    errors: r.errors + r.timeouts + r.non2xx,
    non2xx: r.non2xx,
  };
}

const load0 = os.loadavg();
console.error(`bench:serve: ${files.length} JPEGs from ${dataDir}; ${seconds} s per concurrency ${concurrency.join(', ')}; load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);
// Offline runs interleave with the load runs (before each and after the last), so each load run has offline
// figures measured right before and right after it on the same (shared) machine.
const offlineRuns = [await offline(offlineSeconds)];
console.error(`offline: ${offlineRuns[0]!.imagesPerSec} images/s`);
const srv = await startServer();
await load(srv.url, 8, 3); // warm-up: first model calls, JIT, allocator
const runs = [];
for (const c of concurrency) {
  if (runs.length) {
    offlineRuns.push(await offline(offlineSeconds));
    console.error(`offline: ${offlineRuns[offlineRuns.length - 1]!.imagesPerSec} images/s`);
  }
  const rssBefore = rssMb(srv.pid);
  const r = await load(srv.url, c, seconds);
  const row = { concurrency: c, ...r, serverRssMb: { before: rssBefore, after: rssMb(srv.pid) }, loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100 };
  console.error(JSON.stringify(row));
  runs.push(row);
}
const metrics = await (await fetch(`${srv.url}/metrics`)).text();
const batchSum = Number(/plumage_batch_size_sum (\S+)/.exec(metrics)?.[1]);
const batchCount = Number(/plumage_batch_size_count (\S+)/.exec(metrics)?.[1]);
const exitCode = await srv.stop();
offlineRuns.push(await offline(offlineSeconds));
console.error(`offline: ${offlineRuns[offlineRuns.length - 1]!.imagesPerSec} images/s`);
const c32i = Math.max(0, runs.findIndex((r) => r.concurrency === 32));
const c32 = runs[c32i]!;
// The offline runs right before and right after the concurrency-32 run.
const offlineMean = (offlineRuns[c32i]!.imagesPerSec + offlineRuns[c32i + 1]!.imagesPerSec) / 2;
const result = {
  date: new Date().toISOString(),
  run: path.resolve(run),
  images: { count: files.length, from: dataDir, bytesMean: Math.round(images.reduce((a, b) => a + b.length, 0) / images.length) },
  server: { maxBatch: Number(maxBatch), maxWaitMs: Number(maxWaitMs), meanBatchSize: Math.round((batchSum / batchCount) * 100) / 100, exitCodeAfterSigterm: exitCode },
  secondsPerRun: seconds,
  runs,
  offline: { runs: offlineRuns, imagesPerSecAroundRatioRun: Math.round(offlineMean * 10) / 10 },
  errors: runs.reduce((a, r) => a + r.errors, 0),
  ratio_vs_offline: Math.round((c32.requestsPerSec / offlineMean) * 1000) / 1000,
  ratioConcurrency: c32.concurrency,
  loadAverage: { start: load0, end: os.loadavg() },
  cores: os.cpus().length,
};
fs.mkdirSync(path.dirname(out), { recursive: true });
writeFileAtomic(out, JSON.stringify(result, null, 2) + '\n');
console.log(`bench:serve: c${c32.concurrency} ${c32.requestsPerSec} req/s vs offline ${result.offline.imagesPerSecAroundRatioRun} images/s: ratio ${result.ratio_vs_offline}; errors ${result.errors}; wrote ${path.relative(root, out)}`);
