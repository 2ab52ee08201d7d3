import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/shared.js';
import { mini, miniImages, trainTinyRun } from './fixture.js';

test('plumage serve: SIGTERM lets an in-flight request finish, then exits 0', { skip: mini.skip, timeout: 180_000 }, async () => {
  const run = trainTinyRun();
  // A long batching wait keeps the request in flight when the signal arrives.
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'plumage.js'), 'serve', '--run', run, '--port', '0', '--max-wait-ms', '1500'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /"address":"(http:\/\/[^"]+)"/.exec(log);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
      if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`serve exited early:\n${log}`));
      }
    }, 100);
  });
  const lines = log.trim().split('\n').filter((l) => l.startsWith('{'));
  assert.ok(lines.every((l) => typeof JSON.parse(l).level === 'number'), 'structured (JSON) log lines');
  const inflight = fetch(`${url}/v1/predict`, { method: 'POST', body: fs.readFileSync(miniImages(1)[0]!), headers: { 'content-type': 'image/jpeg' } });
  await new Promise((r) => setTimeout(r, 400));
  child.kill('SIGTERM');
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { predictions: unknown[] }).predictions.length, 1);
  assert.equal(await exited, 0, log.slice(-2000));
  assert.match(log, /shutting down: finishing in-flight requests/);
  assert.match(log, /"msg":"stopped"/);
});
