import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveTrainConfig } from '../../src/train/resolve-config.js';
import { runCli } from '../helpers/cli.js';

const file = (text: string) => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-cfg-')), 'cfg.yaml');
  fs.writeFileSync(f, text);
  return f;
};

test('each recipe has its own defaults, in one place; flags and the config file override them', () => {
  const scratch = resolveTrainConfig({});
  assert.equal(scratch.recipe, 'scratch');
  assert.deepEqual([scratch.model, scratch.epochs, scratch.batchSize, scratch.lr, scratch.weightDecay], ['resnet-mini', 30, 64, 2e-3, 0.05]);
  assert.deepEqual(scratch.recipe === 'scratch' && scratch.augment.cropScale, [0.6, 1]);
  const full = resolveTrainConfig({ recipe: 'full' });
  assert.ok(full.recipe === 'full');
  assert.deepEqual([full.model, full.epochs, full.batchSize, full.lr, full.backboneLrScale, full.labelSmoothing], ['mobilenetv2-inat-birds', 5, 32, 1e-3, 0.1, 0.1]);
  assert.deepEqual([full.augment.cropScale, full.augment.brightness, full.augment.upscaleProb], [[1, 1], 0, 0.5], 'flips and 256px views, no crop or jitter');
  const partial = resolveTrainConfig({ recipe: 'partial' });
  assert.ok(partial.recipe === 'partial');
  assert.deepEqual([partial.epochs, partial.blocks, partial.batchSize, partial.trainViews], [1, 14, 32, ['image', 'upscale', 'image.flip', 'upscale.flip']]);
  const probe = resolveTrainConfig({ recipe: 'probe' });
  assert.ok(probe.recipe === 'probe');
  assert.deepEqual([probe.head, probe.batchSize, probe.epochs], ['linear', 256, 30]);
  assert.equal(resolveTrainConfig({ recipe: 'full', epochs: 3 }).epochs, 3);
  assert.equal(resolveTrainConfig({ config: file('recipe: full\nepochs: 7\n') }).epochs, 7, 'from the config file');
  assert.equal(resolveTrainConfig({ config: file('recipe: full\nepochs: 7\n'), epochs: 2 }).epochs, 2, 'flags override the file');
  const asked = resolveTrainConfig({ recipe: 'full', cropScale: [0.7, 1], brightness: 0.2 });
  assert.ok(asked.recipe === 'full');
  assert.deepEqual([asked.augment.cropScale, asked.augment.brightness, asked.augment.contrast], [[0.7, 1], 0.2, 0]);
  const fromFile = resolveTrainConfig({ config: file('recipe: full\nupscaleTeacher: 1\naugment:\n  contrast: 0.3\n') });
  assert.ok(fromFile.recipe === 'full');
  assert.deepEqual([fromFile.augment.contrast, fromFile.upscaleTeacher, fromFile.upscaleTeacherTemp], [0.3, 1, 2]);
});

test('a time budget without an epoch count lets the budget decide the epochs; an explicit count stays the cap', () => {
  assert.equal(resolveTrainConfig({ recipe: 'full' }).epochs, 5);
  assert.equal(resolveTrainConfig({ recipe: 'full', timeBudgetMin: 20 }).epochs, 100);
  assert.equal(resolveTrainConfig({ recipe: 'full', timeBudgetMin: 20, epochs: 4 }).epochs, 4);
  assert.equal(resolveTrainConfig({ config: file('recipe: full\nepochs: 3\n'), timeBudgetMin: 20 }).epochs, 3);
  // Pseudo-labelling starts after half the epochs, so it keeps the recipe's count.
  assert.equal(resolveTrainConfig({ recipe: 'full', timeBudgetMin: 20, pseudoLabel: 0.9 }).epochs, 5);
});

test('an option a recipe does not use is an error naming it and the recipes that have it', () => {
  assert.throws(() => resolveTrainConfig({ recipe: 'full', blocks: 4 }), /blocks: not an option of recipe 'full' \(only partial\)/);
  assert.throws(() => resolveTrainConfig({ blocks: 4 }), /blocks: not an option of recipe 'scratch'/);
  assert.throws(() => resolveTrainConfig({ recipe: 'partial', cutmix: 0.5 }), /augment: not an option of recipe 'partial' \(only scratch, full\)/);
  assert.throws(() => resolveTrainConfig({ recipe: 'probe', pseudoLabel: 0.7 }), /pseudoLabel: not an option of recipe 'probe' \(only full\)/);
  assert.throws(() => resolveTrainConfig({ recipe: 'full', upscaleTeacher: -1 }), /upscaleTeacher/);
  assert.throws(() => resolveTrainConfig({ recipe: 'fine' }), /recipe: 'fine' is not a recipe/);
  assert.throws(() => resolveTrainConfig({ config: file('recipe: probe\nwhatever: 1\n') }), /cfg\.yaml \+ command line[\s\S]*whatever: unknown option/);
});

test('old option names get an error saying the new name', () => {
  assert.throws(() => resolveTrainConfig({ recipe: 'full', backbone: ['mobilenetv2-inat-birds'] }), /backbone: renamed to 'model'/);
  assert.throws(() => resolveTrainConfig({ config: file('recipe: full\nevalSize: 160\nhrTeacher: 1\n') }), /evalSize: renamed to 'evalImageSize'[\s\S]*hrTeacher: renamed to 'upscaleTeacher'/);
});

test('--help says which recipe uses an option; an unused flag exits 2 naming it', () => {
  const help = runCli(['train', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--blocks <k>[\s\S]*\[partial\]/);
  assert.match(help.stdout, /--backbone-lr-scale <f>[\s\S]*\[full, partial\]/);
  const bad = runCli(['train', '--recipe', 'probe', '--blocks', '3']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /blocks: not an option of recipe 'probe' \(only partial\)/);
});
