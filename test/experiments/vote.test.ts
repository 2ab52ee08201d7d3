import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadExperiment } from '../../src/experiments/load-experiment.js';
import { runVotes } from '../../src/experiments/vote-variant.js';
import { writeReport } from '../../src/experiments/write-report.js';

/** A finished member run: its config (data), summary, and saved val/test probabilities over classes a, b. */
function member(dir: string, data: string, seconds: number, val: [string, number][], test: [string, number][]): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.yaml'), `data: ${data}\n`);
  const csv = (rows: [string, number][]) => 'id,a,b\n' + rows.map(([id, pa]) => `${id},${pa},${(1 - pa).toFixed(6)}`).join('\n') + '\n';
  fs.writeFileSync(path.join(dir, 'val_probabilities.csv'), csv(val));
  fs.writeFileSync(path.join(dir, 'test_probabilities.csv'), csv(test));
  fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ valF1: 0.5, wallSeconds: seconds }));
}

test('vote rows: mean of the members\' saved probabilities -> val report and submission; waits for unfinished members; bad votes refused at load', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-vote-'));
  const data = path.join(work, 'data');
  fs.mkdirSync(path.join(data, 'img'), { recursive: true });
  const labels = { v1: 'a', v2: 'a', v3: 'b', v4: 'b' };
  for (const id of Object.keys(labels)) fs.writeFileSync(path.join(data, 'img', `${id}.png`), '');
  fs.writeFileSync(path.join(data, 'train.csv'), 'id,img_path,label\n' + Object.entries(labels).map(([id, l]) => `${id},img/${id}.png,${l}`).join('\n') + '\n');
  const file = path.join(work, 'exp.yaml');
  fs.writeFileSync(file, `base: { project: ${work} }\nvariants:\n  X: {}\n  Y: {}\n  Z: {}\n  V: { description: X + Y, vote: [X, Y] }\n  W: { vote: [X, Z] }\n`);
  const plan = loadExperiment(file);
  assert.deepEqual(plan.runs.map((r) => r.runName), ['X', 'Y', 'Z'], 'vote rows train nothing');
  assert.deepEqual(plan.votes.map((v) => [v.runName, v.members.map((m) => m.runName)]), [['V', ['X', 'Y']], ['W', ['X', 'Z']]]);
  const d = (r: string) => path.join(work, 'exp', r);
  // P(a) per image. X predicts a,b,b,a; Y b,a,b,b; their mean a,a,b,a (v1 .65, v2 .675, v3 .15, v4 .55).
  member(d('X'), data, 60, [['v1', 0.9], ['v2', 0.45], ['v3', 0.2], ['v4', 0.9]], [['t1', 0.7], ['t2', 0.1]]);
  member(d('Y'), data, 40, [['v1', 0.4], ['v2', 0.9], ['v3', 0.1], ['v4', 0.2]], [['t1', 0.2], ['t2', 0.3]]);
  const logs: string[] = [];
  assert.deepEqual(await runVotes(plan.votes, (m) => logs.push(m)), []);
  assert.match(logs.join('\n'), /W: not voted yet: Z unfinished/);
  assert.ok(!fs.existsSync(d('W')), 'nothing written for a vote that waits');
  const summary = JSON.parse(fs.readFileSync(path.join(d('V'), 'summary.json'), 'utf8')) as { valF1: number; valAccuracy: number; wallSeconds: number; recipe: string };
  // a: tp 2, fp 1 -> F1 0.8; b: tp 1, fn 1 -> F1 2/3.
  assert.ok(Math.abs(summary.valF1 - (0.8 + 2 / 3) / 2) < 1e-9, String(summary.valF1));
  assert.equal(summary.valAccuracy, 0.75);
  assert.equal(summary.wallSeconds, 100, 'the row costs its members\' time');
  assert.equal(summary.recipe, 'vote');
  assert.equal(fs.readFileSync(path.join(d('V'), 'submission.csv'), 'utf8'), 'id,label\nt1,b\nt2,b\n', 't1: (0.7 + 0.2) / 2 = 0.45 for a');
  assert.match(fs.readFileSync(path.join(d('V'), 'val_probabilities.csv'), 'utf8'), /^v4,0\.55/m);
  assert.ok(fs.existsSync(path.join(d('V'), 'val_confusion_matrix.png')));
  const { md } = await writeReport(plan);
  assert.match(fs.readFileSync(md, 'utf8'), /^\| V \| X \+ Y \| 0\.7333 \| 1\/1 \| 1\.7 min \|/m);

  // A member with other images is refused, naming both files.
  member(d('Z'), data, 10, [['v1', 0.5], ['v2', 0.5], ['v3', 0.5], ['v9', 0.5]], [['t1', 0.5], ['t2', 0.5]]);
  const failures = await runVotes(plan.votes, () => {});
  assert.equal(failures.length, 1);
  assert.match(failures[0]!.reason, /vote W: .*Z.*val_probabilities\.csv and .*X.*val_probabilities\.csv hold different images/);

  for (const [variants, msg] of [
    ['  X: {}\n  V: { vote: [X, Q] }\n', /variant V: vote: no variant named 'Q'/],
    ['  X: {}\n  Y: {}\n  V: { vote: [X, Y] }\n  U: { vote: [V, X] }\n', /variant U: vote: 'V' is a vote/],
    ['  X: {}\n  Y: {}\n  V: { vote: [X, Y], overrides: { epochs: 3 } }\n', /variants\.V: a vote variant trains nothing/],
    ['  X: {}\n  V: { vote: [X] }\n', /variants\.V\.vote: a vote needs at least two variants/],
  ] as const) {
    fs.writeFileSync(file, `base: { project: ${work} }\nvariants:\n${variants}`);
    assert.throws(() => loadExperiment(file), msg);
  }
  fs.rmSync(work, { recursive: true, force: true });
});
