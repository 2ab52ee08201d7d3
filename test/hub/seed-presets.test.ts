/** configs/seed-*.yaml: valid train configs with the seed's recipe (the CLI's own config resolution checks them). */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { resolveTrainConfig } from '../../src/train/resolve-config.js';
import { repoRoot } from '../helpers/shared.js';

for (const [file, model, batchSize] of [
  ['seed-swinv2.yaml', 'microsoft/swinv2-base-patch4-window16-256', 16],
  ['seed-beit.yaml', 'microsoft/beit-base-patch16-224-pt22k-ft22k', 32],
] as const) {
  test(`configs/${file} resolves to the seed's recipe`, () => {
    const cfg = resolveTrainConfig({ config: path.join(repoRoot, 'configs', file) });
    assert.equal(cfg.model, model);
    assert.equal(cfg.batchSize, batchSize);
    assert.equal(cfg.imageSize, undefined, 'the input size comes from the checkpoint');
    const want = { lr: 5e-5, weightDecay: 1e-2, scheduler: 'plateau', plateauFactor: 0.7, plateauPatience: 2, minLr: 1e-7, earlyStopPatience: 10, earlyStopMinDelta: 1e-3, accumulate: 2 };
    for (const [k, v] of Object.entries(want)) assert.equal((cfg as Record<string, unknown>)[k], v, k);
    assert.ok(cfg.recipe === 'scratch', 'hub models train with the scratch recipe (their weights come from the hub)');
    assert.ok(cfg.augment.cutmix > 0 && cfg.augment.upscaleProb > 0);
  });
}
