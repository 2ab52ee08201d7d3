import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadExperiment } from '../../src/experiments/load-experiment.js';
import { runLocal } from '../../src/experiments/run-local.js';
import { readAttempts } from '../../src/experiments/run-state.js';
import { runCli } from '../helpers/cli.js';
import { sharedPath } from '../helpers/shared.js';

const mini = sharedPath('data', 'birds25-mini');

test('finished variants are skipped on re-run; a run without summary.json resumes from its checkpoint; --report-only rebuilds the report', { skip: mini.skip, timeout: 240_000 }, async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-rerun-'));
  const file = path.join(work, 'r.yaml');
  fs.writeFileSync(
    file,
    `base:\n  data: ${mini.path}\n  valData: ${path.join(mini.path, 'val.csv')}\n  project: ${work}\n  model: resnet-mini\n  imageSize: 32\n  epochs: 2\n  batchSize: 32\n  limit: 100\n  tta: false\n  predictTest: false\n` +
      `variants:\n  A: { description: base }\n  B: { description: no jitter, overrides: { augment: { brightness: 0, contrast: 0, saturation: 0 } } }\n`,
  );
  const logs: string[] = [];
  const opts = { quiet: true, log: (m: string) => logs.push(m) };
  const plan = loadExperiment(file);
  assert.deepEqual(await runLocal(plan, opts), []);
  const summaryA = path.join(work, 'r', 'A', 'summary.json');
  const before = fs.readFileSync(summaryA, 'utf8');
  const mtime = fs.statSync(summaryA).mtimeMs;

  // Re-run: A and B are finished and untouched.
  logs.length = 0;
  assert.deepEqual(await runLocal(loadExperiment(file), opts), []);
  assert.equal(logs.filter((l) => /finished earlier \(summary\.json present\), skipped/.test(l)).length, 2, logs.join('\n'));
  assert.equal(fs.statSync(summaryA).mtimeMs, mtime);
  assert.equal(readAttempts(path.join(work, 'r', 'A')).filter((a) => a.event === 'start').length, 1);

  // B "killed" after its last checkpoint but before summary.json: it resumes (no epoch trained again) and finishes.
  const dirB = path.join(work, 'r', 'B');
  const metricsB = fs.readFileSync(path.join(dirB, 'metrics.jsonl'), 'utf8');
  fs.rmSync(path.join(dirB, 'summary.json'));
  logs.length = 0;
  assert.deepEqual(await runLocal(loadExperiment(file), opts), []);
  const startsB = readAttempts(dirB).filter((a) => a.event === 'start');
  assert.deepEqual(startsB.map((a) => a.resume), [false, true]);
  assert.equal(startsB[1]!.epochsDone, 2);
  assert.ok(fs.existsSync(path.join(dirB, 'summary.json')));
  assert.equal(fs.readFileSync(path.join(dirB, 'metrics.jsonl'), 'utf8'), metricsB, 'no epoch was trained again');
  assert.equal(fs.readFileSync(summaryA, 'utf8'), before);

  // The report, rebuilt from the run folders alone.
  fs.rmSync(path.join(work, 'r', 'report.md'), { force: true });
  const r = runCli(['experiment', file, '--report-only']);
  assert.equal(r.code, 0, r.stderr);
  const md = fs.readFileSync(path.join(work, 'r', 'report.md'), 'utf8');
  const rows = md.split('\n').filter((l) => /^\| [AB] \|/.test(l));
  assert.equal(rows.length, 4, md); // results table + runs table
  assert.match(md, /^\| A \| base \| 0\.\d{4} \| 1\/1 \|/m);
  assert.match(md, /^\| B \| no jitter \| 0\.\d{4} \| 1\/1 \|/m);
  const html = fs.readFileSync(path.join(work, 'r', 'report.html'), 'utf8');
  assert.equal((html.match(/data:image\/png;base64,/g) ?? []).length, 4, 'learning curve + confusion matrix of each run, inlined');
  assert.match(html, /<svg[^>]*aria-label="per-class val F1"/);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no external resources');
  assert.doesNotMatch(html, /<script|<link/);
});
