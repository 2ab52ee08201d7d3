import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
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
  // Distinct pixels per run: the report inlines identical images once.
  const shade = (n: number) => `#${[...path.basename(dir)].reduce((h, c) => (h * 31 + c.charCodeAt(0) + n) % 0xffffff, 7).toString(16).padStart(6, '0')}`;
  await png(path.join(dir, 'learning_curve.png'), shade(1));
  await png(path.join(dir, 'val_confusion_matrix.png'), shade(2));
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

  const { md, html, rows } = await writeReport(plan);
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

test('report appendix: Markdown files embedded (headings one level down, tables rendered in HTML), PNGs inlined; a missing file is refused at load', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-appendix-'));
  const md = path.join(work, 'sr.md');
  fs.writeFileSync(md, '# Super-resolution\n\nModels from esrgan-slim@1.0.0.\n\n| method | PSNR |\n|---|---|\n| bicubic | 26.86 |\n');
  const img = await png(path.join(work, 'sr-samples.png'), '#00ff00');
  const file = path.join(work, 'exp.yaml');
  // A photo grid over 400 kB: inlined as JPEG (a PNG of noise is ~3 bytes per pixel).
  const noise = crypto.randomBytes(400 * 400 * 3);
  fs.writeFileSync(path.join(work, 'grid.png'), await sharp(noise, { raw: { width: 400, height: 400, channels: 3 } }).png().toBuffer());
  assert.ok(fs.statSync(path.join(work, 'grid.png')).size > 400 * 1024);
  fs.writeFileSync(file, `base: { project: ${work} }\nappendix: [${md}, ${path.join(work, 'sr-samples.png')}, ${path.join(work, 'grid.png')}]\nvariants:\n  A: {}\n`);
  const plan = loadExperiment(file);
  const { md: mdOut, html } = await writeReport(plan);
  const text = fs.readFileSync(mdOut, 'utf8');
  assert.match(text, /^## Measurements of the toolbox$/m);
  assert.match(text, /^### Super-resolution$/m);
  assert.match(text, /^\| bicubic \| 26\.86 \|$/m);
  assert.match(text, /!\[sr-samples\.png\]\(\.\.\/sr-samples\.png\)/);
  const page = fs.readFileSync(html, 'utf8');
  assert.match(page, /<h3>Super-resolution<\/h3>/);
  assert.match(page, /<td>bicubic<\/td>\s*<td>26\.86<\/td>/);
  assert.match(page, /Models from esrgan-slim@1\.0\.0\./);
  assert.doesNotMatch(page, /mailto:/, 'a package@version is not turned into an e-mail link');
  assert.ok(page.includes(img.toString('base64')));
  assert.equal((page.match(/data:image\/jpeg;base64,/g) ?? []).length, 1, 'the large grid as JPEG');
  fs.writeFileSync(file, `base: { project: ${work} }\nappendix: [${path.join(work, 'nope.md')}]\nvariants:\n  A: {}\n`);
  assert.throws(() => loadExperiment(file), /appendix\[0\]: .*nope\.md does not exist/);
  fs.writeFileSync(file, `base: { project: ${work} }\nappendix: [notes.txt]\nvariants:\n  A: {}\n`);
  assert.throws(() => loadExperiment(file), /appendix\.0: appendix files are \.md or \.png/);
  fs.rmSync(work, { recursive: true, force: true });
});

test('report in another folder: the best finished single-split variant\'s submission is copied beside it; run folders are named relative to it; other files are kept', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-reportdir-'));
  const file = path.join(work, 'exp.yaml');
  fs.writeFileSync(file, `base: { project: ${work} }\nvariants:\n  A: {}\n  B: {}\n  C: {}\n`);
  const plan = loadExperiment(file);
  const d = (run: string) => path.join(work, 'exp', run);
  await fakeRun(d('A'), 0.8, 60, [100], 500, [['x', 0.8]]);
  await fakeRun(d('B'), 0.9, 60, [100], 500, [['x', 0.9]]);
  await fakeRun(d('C'), 0.95, 60, [100], 500, [['x', 0.95]]); // best F1 but no submission.csv: not chosen
  fs.writeFileSync(path.join(d('A'), 'submission.csv'), 'id,label\nTEST_0,a\n');
  fs.writeFileSync(path.join(d('B'), 'submission.csv'), 'id,label\nTEST_0,b\n');
  const out = path.join(work, 'results', 'seed');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'A.submission.csv'), 'stale');
  fs.writeFileSync(path.join(out, 'other.submission.csv'), 'keep me');
  const { md, submission } = await writeReport(plan, out);
  assert.equal(md, path.join(out, 'report.md'));
  assert.match(fs.readFileSync(md, 'utf8'), /^\| B \| finished \| 0\.9000 \| .* \| `\.\.\/\.\.\/exp\/B` \|$/m);
  assert.equal(submission, path.join(out, 'B.submission.csv'));
  assert.equal(fs.readFileSync(submission!, 'utf8'), 'id,label\nTEST_0,b\n');
  assert.ok(!fs.existsSync(path.join(out, 'A.submission.csv')), 'a previous best variant\'s copy is removed');
  assert.equal(fs.readFileSync(path.join(out, 'other.submission.csv'), 'utf8'), 'keep me', 'files of no variant are left alone');
  assert.ok(!fs.existsSync(path.join(work, 'exp', 'report.md')), 'nothing written to the experiment folder');
  fs.rmSync(work, { recursive: true, force: true });
});
