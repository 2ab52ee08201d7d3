import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { augmentSchema } from '../../src/augment/pipeline.js';
import { augmentPreviewPng } from '../../src/augment/preview.js';
import { loadLabelledDataset } from '../../src/data/load-dataset.js';
import { PixelCache } from '../../src/data/pixel-cache.js';
import { runCli } from '../helpers/cli.js';
import { sharedPath } from '../helpers/shared.js';

const mini = sharedPath('data', 'birds25-mini');

test('augment preview: same seed -> same PNG, other seed -> another; MixUp/CutMix flags reach the batch', { skip: mini.skip }, async () => {
  const ds = loadLabelledDataset(mini.path);
  const cache = new PixelCache(fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-px-')));
  const augment = augmentSchema.parse({ mixup: 1, upscaleProb: 0.5 });
  const a = await augmentPreviewPng(ds, { n: 8, seed: 5, inputSize: 64, augment, cache });
  const b = await augmentPreviewPng(ds, { n: 8, seed: 5, inputSize: 64, augment, cache });
  const c = await augmentPreviewPng(ds, { n: 8, seed: 6, inputSize: 64, augment, cache });
  assert.equal(a.mix, 'mixup');
  assert.ok(a.png.equals(b.png));
  assert.ok(!a.png.equals(c.png));
  const meta = await sharp(a.png).metadata();
  assert.equal(meta.format, 'png');
  assert.equal((await augmentPreviewPng(ds, { n: 4, seed: 5, inputSize: 64, augment: augmentSchema.parse({ cutmix: 1 }), cache })).mix, 'cutmix');
  assert.equal((await augmentPreviewPng(ds, { n: 4, seed: 5, inputSize: 64, augment: augmentSchema.parse({}), cache })).mix, 'none');
});

test('plumage augment --preview writes the grid; a bad value is refused by name', { skip: mini.skip }, () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-prev-')), 'grid.png');
  const ok = runCli(['augment', '--preview', '--data', mini.path, '--n', '4', '--seed', '1', '--mixup', '0.5', '--output', out]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(fs.statSync(out).size > 1000);
  const bad = runCli(['augment', '--preview', '--data', mini.path, '--mixup', '2', '--output', out]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /mixup/);
});
