import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveTrainConfig } from '../../src/cli/train-command.js';

test('epochs: 30 from scratch, the recipe default for partial/full, and an explicit value always wins', () => {
  assert.equal(resolveTrainConfig({}).epochs, 30);
  assert.equal(resolveTrainConfig({ recipe: 'full', backbone: ['mobilenetv2-inat-birds'] }).epochs, 5);
  assert.equal(resolveTrainConfig({ recipe: 'partial', backbone: ['mobilenetv2-inat-birds'] }).epochs, 2);
  assert.equal(resolveTrainConfig({ recipe: 'full', backbone: ['mobilenetv2-inat-birds'], epochs: 3 }).epochs, 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-cfg-'));
  const file = path.join(dir, 'cfg.yaml');
  fs.writeFileSync(file, 'recipe: full\nbackbone: [mobilenetv2-inat-birds]\nepochs: 7\n');
  assert.equal(resolveTrainConfig({ config: file }).epochs, 7, 'epochs from the config file');
  fs.writeFileSync(file, 'recipe: full\nbackbone: [mobilenetv2-inat-birds]\n');
  assert.equal(resolveTrainConfig({ config: file }).epochs, 5, 'recipe from the config file');
});
