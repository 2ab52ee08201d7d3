import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadExperiment } from '../../src/experiments/load-experiment.js';
import { writeReport } from '../../src/experiments/write-report.js';

async function png(file: string, color: string): Promise<Buffer> {
  const buf = await sharp({ create: { width: 8, height: 8, channels: 3, background: color } }).png().toBuffer();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, buf);
  return buf;
}

/** A finished run folder as the training engine leaves it (values chosen by the test). */
async function fakeRun(dir: string, f1: number, seconds: number, trainRates: number[], infer: number, perClass: [string, number][]): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ valF1: f1, valAccuracy: f1, wallSeconds: seconds, inferImagesPerSec: infer }));
  fs.writeFileSync(path.join(dir, 'metrics.csv'), 'epoch,trainLoss,valF1,trainImagesPerSec\n' + trainRates.map((r, i) => `${i + 1},1,${f1},${r}`).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'val_per_class.csv'), 'class,precision,recall,f1,support,predicted\n' + perClass.map(([c, v]) => `${c},0,0,${v},1,1`).join('\n') + '\n');
  await png(path.join(dir, 'learning_curve.png'), '#ff0000');
  await png(path.join(dir, 'val_confusion_matrix.png'), '#00ff00');
}

test('report: fold mean ± sample std, summed time, mean rates, per-class chart, extra images inlined, unfinished runs listed', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-report-'));
  const file = path.join(work, 'rep.yaml');
  fs.writeFileSync(file, `base: { project: ${work} }\nfolds: 3\nvariants:\n  A: { description: first }\n  B: { description: "pipes | in text" }\n`);
  const plan = loadExperiment(file);
  const d = (run: string) => path.join(work, 'rep', run);
  await fakeRun(d('A-fold0'), 0.8, 60, [100, 200], 500, [['x', 0.5], ['y', 1]]);
  await fakeRun(d('A-fold1'), 0.9, 60, [300], 700, [['x', 0.7], ['y', 0.9]]);
  await fakeRun(d('A-fold2'), 0.7, 60, [200], 600, [['x', 0.3], ['y', 0.8]]);
  await fakeRun(d('B-fold0'), 0.5, 30, [50], 100, [['x', 0.1], ['y', 0.2]]);
  fs.mkdirSync(d('B-fold1'), { recursive: true }); // killed: folder, no summary.json
  const crop = await png(path.join(d('B-fold0'), 'crops', 'grid.png'), '#0000ff');
  const listed = await png(path.join(work, 'elsewhere', 'boxes.png'), '#123456');
  fs.writeFileSync(path.join(d('B-fold0'), 'preprocess.json'), JSON.stringify({ images: [path.join(work, 'elsewhere', 'boxes.png')], notes: { noBirdFallbacks: 7 } }));

  const { md, html, rows } = writeReport(plan);
  const a = rows.find((r) => r.name === 'A')!;
  assert.ok(Math.abs(a.f1Mean! - 0.8) < 1e-12);
  assert.ok(Math.abs(a.f1Std! - 0.1) < 1e-12, 'sample standard deviation of 0.8, 0.9, 0.7');
  assert.equal(a.seconds, 180);
  assert.ok(Math.abs(a.trainImagesPerSec! - (150 + 300 + 200) / 3) < 1e-9, 'per run: mean over epochs; per variant: mean over runs');
  assert.equal(a.inferImagesPerSec, 600);
  const text = fs.readFileSync(md, 'utf8');
  assert.match(text, /^\| A \| first \| 0\.8000 ± 0\.1000 \(0\.7000–0\.9000\) \| 3\/3 \| 3\.0 min \| 216\.7 \| 600\.0 \|$/m);
  assert.match(text, /^\| B \| pipes \\\| in text \| 0\.5000 \| 1\/3 \| 30 s \| 50\.0 \| 100\.0 \|$/m);
  assert.match(text, /^\| B-fold1 \| unfinished \|/m);
  assert.match(text, /^\| B-fold2 \| not run \|/m);
  assert.match(text, /B-fold0: noBirdFallbacks 7/);
  const page = fs.readFileSync(html, 'utf8');
  assert.ok(page.includes(crop.toString('base64')), 'a PNG in the run\'s crops/ folder is inlined');
  assert.ok(page.includes(listed.toString('base64')), 'a PNG listed in preprocess.json is inlined');
  assert.match(page, /<title>x \/ A: F1 0\.5000<\/title>/, 'per-class F1: mean over folds (0.5, 0.7, 0.3)');
  assert.match(page, /<title>y \/ B: F1 0\.2000<\/title>/);
  assert.equal((page.match(/data:image\/png;base64,/g) ?? []).length, 4 * 2 + 2);
});
