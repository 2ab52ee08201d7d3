import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import YAML from 'yaml';
import { loadExperiment } from '../../src/experiments/load-experiment.js';
import { setPreprocessor, type PreprocessRequest } from '../../src/experiments/preprocess-hook.js';
import { runLocal } from '../../src/experiments/run-local.js';
import { writeReport } from '../../src/experiments/write-report.js';
import { sharedPath } from '../helpers/shared.js';

const mini = sharedPath('data', 'birds25-mini');

// The hook's plumbing with a test preprocessor (the real one, detection crops and super-resolution, lives in
// src/preprocess): it writes a derived DACON folder (a subset of birds25-mini) and a preview PNG into its outDir.
test('preprocess hook: runs once per spec, the variant trains on the derived data, images and notes reach the report', { skip: mini.skip, timeout: 240_000 }, async () => {
  const calls: PreprocessRequest[] = [];
  setPreprocessor(async (req) => {
    calls.push(req);
    const rows = fs.readFileSync(path.join(req.cfg.data, 'train.csv'), 'utf8').trim().split('\n');
    const header = rows[0]!.split(',');
    const abs = rows.slice(1, 301).map((line) => line.split(',').map((v, i) => (/_path$/.test(header[i]!) ? path.join(req.cfg.data, v) : v)).join(','));
    fs.mkdirSync(path.join(req.outDir, 'data'), { recursive: true });
    fs.writeFileSync(path.join(req.outDir, 'data', 'train.csv'), [rows[0], ...abs].join('\n') + '\n');
    fs.mkdirSync(path.join(req.outDir, 'preview'));
    await sharp({ create: { width: 4, height: 4, channels: 3, background: '#abcdef' } }).png().toFile(path.join(req.outDir, 'preview', 'grid.png'));
    return { overrides: { data: path.join(req.outDir, 'data') }, images: ['preview/grid.png'], notes: { rows: abs.length } };
  });
  try {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-pre-'));
    const file = path.join(work, 'p.yaml');
    fs.writeFileSync(
      file,
      `base:\n  data: ${mini.path}\n  valData: ${path.join(mini.path, 'val.csv')}\n  project: ${work}\n  model: resnet-mini\n  imageSize: 32\n  epochs: 1\n  batchSize: 32\n  tta: false\n  predictTest: false\n` +
        'variants:\n  P1: { preprocess: { sr: bicubic, scale: 2 } }\n  P2: { overrides: { lr: 0.001 }, preprocess: { sr: bicubic, scale: 2 } }\n',
    );
    assert.deepEqual(await runLocal(loadExperiment(file), { quiet: true, log: () => {} }), []);
    assert.equal(calls.length, 1, 'two variants with the same step share one preprocessed folder');
    assert.deepEqual(calls[0]!.spec, { sr: 'bicubic', scale: 2, on: ['train', 'val', 'test'] });
    const preDir = path.join(work, 'p', '_preprocessed');
    const [key] = fs.readdirSync(preDir);
    assert.equal(fs.readdirSync(preDir).length, 1, 'no temporary folder left behind');
    for (const v of ['P1', 'P2']) {
      const cfg = YAML.parse(fs.readFileSync(path.join(work, 'p', v, 'config.yaml'), 'utf8')) as { data: string };
      assert.equal(cfg.data, path.join(preDir, key!, 'data'), `${v} trained on the derived data`);
      const split = JSON.parse(fs.readFileSync(path.join(work, 'p', v, 'split.json'), 'utf8')) as { train: string[] };
      assert.equal(split.train.length, 300);
    }
    const { md, html } = await writeReport(loadExperiment(file));
    assert.match(fs.readFileSync(md, 'utf8'), /P1: rows 300/);
    const grid = fs.readFileSync(path.join(preDir, key!, 'preview', 'grid.png')).toString('base64');
    const page = fs.readFileSync(html, 'utf8');
    assert.equal(page.split(grid).length - 1, 1, 'the shared preview PNG is inlined once');
    assert.match(page, /P2: grid\.png: the same image as P1: grid\.png above/);
  } finally {
    setPreprocessor(undefined);
  }
});
