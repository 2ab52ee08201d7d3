import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadExperiment } from '../../src/experiments/load-experiment.js';
import { assertPreprocessAvailable } from '../../src/experiments/preprocess-hook.js';
import { queueConnection } from '../../src/experiments/queue-connection.js';
import { unknownKeys } from '../../src/experiments/unknown-keys.js';
import { schemaFor } from '../../src/train/config.js';
import { trainConfigSchema } from '../../src/train/config.js';
import { UserError } from '../../src/util/errors.js';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/shared.js';

function writeExperiment(text: string): { file: string; work: string } {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-plan-'));
  const file = path.join(work, 'exp.yaml');
  fs.writeFileSync(file, text);
  return { file, work };
}

const BASE = (work: string) => `base:\n  project: ${work}/runs\n  epochs: 3\n  augment: { cutmix: 0.2, brightness: 0.1 }\n`;

test('variants deep-merge their overrides over the base; run folders are <project>/<experiment>/<variant>', () => {
  const { file, work } = writeExperiment('');
  fs.writeFileSync(file, `name: t\n${BASE(work)}variants:\n  A:\n  B:\n    description: more cutmix\n    overrides: { lr: 0.01, augment: { cutmix: 0.9 } }\n`);
  const plan = loadExperiment(file);
  assert.equal(plan.dir, path.join(work, 'runs', 't'));
  assert.deepEqual(plan.runs.map((r) => r.runName), ['A', 'B']);
  const [a, b] = plan.runs;
  assert.ok(a!.cfg.recipe === 'scratch' && b!.cfg.recipe === 'scratch');
  assert.equal(a!.cfg.augment.cutmix, 0.2);
  assert.equal(b!.cfg.augment.cutmix, 0.9, 'override wins');
  assert.equal(b!.cfg.augment.brightness, 0.1, 'nested base keys the override does not name are kept');
  assert.equal(b!.cfg.lr, 0.01);
  assert.equal(a!.cfg.lr, trainConfigSchema.parse({ recipe: 'scratch' }).lr);
  assert.equal(b!.runDir, path.join(work, 'runs', 't', 'B'));
  assert.equal(path.join(b!.cfg.project, b!.cfg.name!), b!.runDir);
  assert.ok(path.isAbsolute(b!.cfg.data), 'paths are absolute, so workers elsewhere see the same folder');
  assert.equal(b!.description, 'more cutmix');
});

test('k-fold: each variant becomes one run per fold (-fold<k>), --folds overrides the file', () => {
  const { file, work } = writeExperiment('');
  fs.writeFileSync(file, `${BASE(work)}folds: 2\nvariants:\n  A:\n  B: { overrides: { epochs: 1 } }\n`);
  const plan = loadExperiment(file);
  assert.equal(plan.name, 'exp', 'name defaults to the file name');
  assert.deepEqual(plan.runs.map((r) => r.runName), ['A-fold0', 'A-fold1', 'B-fold0', 'B-fold1']);
  assert.deepEqual(plan.runs.map((r) => [r.cfg.folds, r.cfg.fold]), [[2, 0], [2, 1], [2, 0], [2, 1]]);
  assert.deepEqual(loadExperiment(file, { folds: 3 }).runs.filter((r) => r.variant === 'A').map((r) => r.runName), ['A-fold0', 'A-fold1', 'A-fold2']);
  assert.deepEqual(loadExperiment(file, { folds: 0, only: ['B'] }).runs.map((r) => r.runName), ['B']);
});

function refused(file: string, ...patterns: RegExp[]): void {
  assert.throws(
    () => loadExperiment(file),
    (err: unknown) => {
      assert.ok(err instanceof UserError, String(err));
      for (const p of patterns) assert.match(err.message, p);
      return true;
    },
  );
}

test('a bad override is refused before anything runs, naming the variant and the key', () => {
  const { file, work } = writeExperiment('');
  const exp = (variants: string) => fs.writeFileSync(file, `${BASE(work)}variants:\n  A:\n${variants}`);
  exp('  B: { overrides: { augment: { cutmx: 0.5 } } }\n');
  refused(file, /variant B/, /'augment\.cutmx'/);
  exp('  B: { overrides: { lrr: 0.1 } }\n');
  refused(file, /variant B/, /'lrr'/);
  exp('  B: { overrides: { augment: { cutmix: 1.5 } } }\n');
  refused(file, /variant B/, /augment\.cutmix/);
  exp('  B: { overrides: { scheduler: linear } }\n');
  refused(file, /variant B/, /scheduler/);
  exp('  B: { overrides: { name: other } }\n');
  refused(file, /variant B/, /'name' is not allowed/);
  exp('  B: { overrides: { epochs: 2 }, preprocess: { detect: { mode: squash } } }\n');
  refused(file, /variants\.B\.preprocess\.detect\.mode/);
  exp('  bad/name: {}\n');
  refused(file, /variants/);
  fs.writeFileSync(file, `base:\n  project: ${work}/runs\n  batchSize: 0\nvariants:\n  A:\n`);
  refused(file, /base/, /batchSize/);
  assert.equal(fs.existsSync(path.join(work, 'runs')), false, 'nothing was created');
});

test('the CLI refuses a bad override with exit code 2 and trains nothing', () => {
  const { file, work } = writeExperiment('');
  fs.writeFileSync(file, `${BASE(work)}variants:\n  A:\n  B: { overrides: { augment: { cutmx: 0.5 } } }\n`);
  const r = runCli(['experiment', file], { cwd: repoRoot });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /variant B: unknown training option 'augment\.cutmx'/);
  assert.equal(fs.existsSync(path.join(work, 'runs')), false);
});

test('a variant whose data folder does not exist is refused before anything runs', () => {
  const { file, work } = writeExperiment('');
  fs.writeFileSync(file, `${BASE(work)}  data: ${work}/data\nvariants:\n  A:\n  B: { overrides: { data: ${work}/nowhere } }\n`);
  fs.mkdirSync(path.join(work, 'data'));
  const r = runCli(['experiment', file], { cwd: repoRoot });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`variant B: data ${work}/nowhere does not exist`));
  assert.equal(fs.existsSync(path.join(work, 'runs')), false);
});

test('variants with a preprocess step are refused up front while no preprocessor is registered; --only runs the others', () => {
  const { file, work } = writeExperiment('');
  fs.writeFileSync(file, `${BASE(work)}variants:\n  A:\n  D: { preprocess: { detect: { mode: contour } } }\n  H: { preprocess: { detect: { mode: pad, sr: esrgan-slim } } }\n`);
  const plan = loadExperiment(file);
  assert.deepEqual(plan.runs.find((r) => r.variant === 'H')!.preprocess, { detect: { mode: 'pad', sr: 'esrgan-slim' }, on: ['train', 'val', 'test'] });
  assert.throws(() => assertPreprocessAvailable(plan.runs, file), /variants D, H declare a `preprocess:` step.*not available/s);
  assert.doesNotThrow(() => assertPreprocessAvailable(loadExperiment(file, { only: ['A'] }).runs, file));
});

test('unknownKeys finds misspelt keys at any depth of the train config', () => {
  assert.deepEqual(unknownKeys(schemaFor('scratch'), { lr: 1, augment: { cutmix: 1, mixx: 2 }, foo: { bar: 1 } }), ['augment.mixx', 'foo']);
  assert.deepEqual(unknownKeys(schemaFor('scratch'), { augment: { cropScale: [1, 1] } }), []);
});

test('--queue URLs: redis://HOST:PORT[/DB]; anything else is refused naming --queue', () => {
  assert.deepEqual(queueConnection('redis://127.0.0.1:6390'), { host: '127.0.0.1', port: 6390, maxRetriesPerRequest: null });
  assert.equal(queueConnection('redis://h:1/2').db, 2);
  assert.throws(() => queueConnection('http://h:1'), /--queue: .*redis:\/\//);
  assert.throws(() => queueConnection('localhost:6379'), /--queue/);
});

test('--queue with no Redis server answering: exit code 2 naming --queue, nothing trained', () => {
  const { file, work } = writeExperiment('');
  fs.writeFileSync(file, `${BASE(work)}variants:\n  A:\n`);
  // Port 1 on loopback: nothing listens there (connection refused at once, retried until the timeout).
  const r = runCli(['experiment', file, '--queue', 'redis://127.0.0.1:1'], { cwd: repoRoot, timeoutMs: 60_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--queue: no Redis server answered at redis:\/\/127\.0\.0\.1:1/);
  assert.equal(fs.existsSync(path.join(work, 'runs', 'exp', 'A')), false);
});
