import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { queueConnection } from '../../src/experiments/queue-connection.js';
import { redisSkip, startRedis } from '../helpers/redis.js';
import { repoRoot, sharedPath } from '../helpers/shared.js';

const mini = sharedPath('data', 'birds25-mini');
const cli = path.join(repoRoot, 'bin', 'plumage.js');

function start(args: string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [cli, ...args], { cwd: repoRoot, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

const lines = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()) : []);

test('queue: two workers train an experiment; one is killed (SIGKILL) mid-job, its job is retried and resumes from the checkpoint', { skip: mini.skip ?? redisSkip(), timeout: 300_000 }, async () => {
  const redis = await startRedis();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-queue-'));
  const file = path.join(work, 'q.yaml');
  fs.writeFileSync(
    file,
    [
      'name: q',
      'base:',
      `  data: ${mini.path}`,
      `  valData: ${path.join(mini.path, 'val.csv')}`,
      `  project: ${work}`,
      '  model: resnet-mini',
      '  imageSize: 32',
      '  epochs: 4',
      '  batchSize: 32',
      '  limit: 160',
      '  tta: false',
      '  predictTest: false',
      'variants:',
      '  A: { description: base }',
      '  B: { overrides: { augment: { cutmix: 0.5 } } }',
      '  C: { overrides: { lr: 0.001 } }',
      '',
    ].join('\n'),
  );
  const queueArgs = ['--queue', redis.url, '--queue-name', 'test-q'];
  const workerArgs = ['worker', ...queueArgs, '--lock-duration', '5', '--stalled-interval', '2', '--quiet'];
  const workers = [start(workerArgs), start(workerArgs)];
  const exp = start(['experiment', file, ...queueArgs]);
  try {
    // Kill the first worker seen with a checkpointed, unfinished run (at least one epoch recorded, no summary.json).
    let killed: { worker: number; run: string; firstEpoch: string } | undefined;
    const deadline = Date.now() + 150_000;
    while (!killed && Date.now() < deadline && exp.child.exitCode === null) {
      for (const [i, w] of workers.entries()) {
        const started = [...w.out().matchAll(/job \S+ started: (\S+) ->/g)].map((m) => m[1]!);
        const run = started[started.length - 1];
        if (!run) continue;
        const dir = path.join(work, 'q', run);
        const epochs = lines(path.join(dir, 'metrics.jsonl'));
        if (epochs.length >= 1 && epochs.length < 4 && fs.existsSync(path.join(dir, 'weights', 'last.ckpt')) && !fs.existsSync(path.join(dir, 'summary.json'))) {
          w.child.kill('SIGKILL');
          killed = { worker: i, run, firstEpoch: epochs[0]! };
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(killed, `no worker was caught mid-job\n${workers.map((w) => w.out()).join('\n---\n')}\n---\n${exp.out()}`);
    const code = await Promise.race([exp.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 200_000).unref())]);
    assert.equal(code, 0, `experiment exit ${code}\n${exp.out().slice(-3000)}\n---\n${workers.map((w) => w.out().slice(-2000)).join('\n---\n')}`);

    for (const v of ['A', 'B', 'C']) {
      const dir = path.join(work, 'q', v);
      assert.ok(fs.existsSync(path.join(dir, 'summary.json')), `${v} finished`);
      const epochs = lines(path.join(dir, 'metrics.jsonl')).map((l) => JSON.parse(l) as { epoch: number });
      assert.deepEqual(epochs.map((e) => e.epoch), [1, 2, 3, 4], `${v}: every epoch once`);
    }
    const dir = path.join(work, 'q', killed.run);
    const attempts = lines(path.join(dir, 'experiment_log.jsonl')).map((l) => JSON.parse(l) as { event: string; resume?: boolean; epochsDone?: number; pid: number });
    const starts = attempts.filter((a) => a.event === 'start');
    assert.equal(starts.length, 2, `the killed run started twice: ${JSON.stringify(attempts)}`);
    assert.equal(starts[0]!.pid, workers[killed.worker]!.child.pid);
    assert.equal(starts[1]!.pid, workers[1 - killed.worker]!.child.pid, 'the surviving worker took the job over');
    assert.equal(starts[1]!.resume, true, 'the retry resumed from the last checkpoint');
    assert.ok(starts[1]!.epochsDone! >= 1);
    assert.equal(lines(path.join(dir, 'metrics.jsonl'))[0], killed.firstEpoch, 'the epoch finished before the kill was kept, not trained again');
    assert.match(workers[1 - killed.worker]!.out(), new RegExp(`${killed.run}: resuming from `));

    // Workers reported progress through the jobs: the last report of each is its final epoch and val F1.
    const queue = new Queue('test-q', { connection: queueConnection(redis.url) });
    try {
      const jobs = await queue.getJobs(['completed']);
      assert.deepEqual(jobs.map((j) => j.name).sort(), ['A', 'B', 'C']);
      for (const j of jobs) {
        const p = j.progress as { runName: string; epoch: number; epochs: number; valF1: number };
        assert.equal(p.runName, j.name);
        assert.equal(p.epoch, 4);
        assert.equal(p.epochs, 4);
        const last = JSON.parse(lines(path.join(work, 'q', j.name, 'metrics.jsonl'))[3]!) as { valF1: number };
        assert.equal(p.valF1, last.valF1);
      }
    } finally {
      await queue.close();
    }
    assert.match(exp.out(), /[ABC]: epoch [1-4]\/4 val F1 0\.\d{4}/, 'the experiment command shows the workers\' progress');

    const report = fs.readFileSync(path.join(work, 'q', 'report.md'), 'utf8');
    for (const v of ['A', 'B', 'C']) assert.match(report, new RegExp(`^\\| ${v} \\|[^|]*\\| 0\\.\\d{4} \\| 1/1 \\|`, 'm'), `report row ${v}`);
    assert.ok(fs.readFileSync(path.join(work, 'q', 'report.html'), 'utf8').includes('data:image/png;base64,'));
  } finally {
    for (const w of [...workers, exp]) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
    await Promise.all([...workers, exp].map((w) => w.exited));
    await redis.stop();
  }
});
