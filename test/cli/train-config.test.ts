import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveTrainConfig } from '../../src/cli/train-command.js';

test('epochs: 30 from scratch, the recipe default for partial/full, and an explicit value always wins', () => {
  assert.equal(resolveTrainConfig({}).epochs, 30);
  assert.equal(resolveTrainConfig({ recipe: 'full', backbone: ['mobilenetv2-inat-birds'] }).epochs, 5);
  const partial = resolveTrainConfig({ recipe: 'partial', backbone: ['mobilenetv2-inat-birds'] });
  assert.deepEqual([partial.epochs, partial.blocks, partial.batchSize, partial.lr], [1, 14, 32, 1e-3], 'the partial recipe defaults');
  assert.deepEqual([resolveTrainConfig({ recipe: 'partial', blocks: 3, batchSize: 128 })].map((c) => [c.blocks, c.batchSize])[0], [3, 128]);
  assert.equal(resolveTrainConfig({ recipe: 'full', backbone: ['mobilenetv2-inat-birds'], epochs: 3 }).epochs, 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-cfg-'));
  const file = path.join(dir, 'cfg.yaml');
  fs.writeFileSync(file, 'recipe: full\nbackbone: [mobilenetv2-inat-birds]\nepochs: 7\n');
  assert.equal(resolveTrainConfig({ config: file }).epochs, 7, 'epochs from the config file');
  fs.writeFileSync(file, 'recipe: full\nbackbone: [mobilenetv2-inat-birds]\n');
  assert.equal(resolveTrainConfig({ config: file }).epochs, 5, 'recipe from the config file');
});

test('augmentation: the full recipe trains without crop/jitter unless asked; from scratch keeps the defaults', () => {
  assert.deepEqual(resolveTrainConfig({}).augment.cropScale, [0.6, 1]);
  const full = resolveTrainConfig({ recipe: 'full' });
  assert.deepEqual([full.augment.cropScale, full.augment.brightness, full.augment.saturation], [[1, 1], 0, 0]);
  assert.equal(full.batchSize, 32, 'the full recipe batch default');
  assert.deepEqual([full.lr, full.backboneLrScale, full.labelSmoothing], [1e-3, 0.1, 0.1], 'the full recipe learning rates');
  assert.equal(resolveTrainConfig({}).lr, 2e-3);
  assert.equal(resolveTrainConfig({ recipe: 'full', lr: 3e-4 }).lr, 3e-4);
  assert.equal(resolveTrainConfig({}).batchSize, 64);
  assert.equal(resolveTrainConfig({ recipe: 'full', batchSize: 16 }).batchSize, 16);
  const asked = resolveTrainConfig({ recipe: 'full', cropScale: [0.7, 1], brightness: 0.2 });
  assert.deepEqual([asked.augment.cropScale, asked.augment.brightness, asked.augment.contrast], [[0.7, 1], 0.2, 0]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-cfg-'));
  const file = path.join(dir, 'cfg.yaml');
  fs.writeFileSync(file, 'recipe: full\nhrTeacher: 1\naugment:\n  contrast: 0.3\n');
  const fromFile = resolveTrainConfig({ config: file });
  assert.equal(fromFile.augment.contrast, 0.3);
  assert.equal(fromFile.hrTeacher, 1);
  assert.equal(fromFile.hrTeacherTemp, 2);
  assert.throws(() => resolveTrainConfig({ recipe: 'full', hrTeacher: -1 }), /hrTeacher/);
});
