import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cosineWithWarmup, EarlyStopping, ReduceLROnPlateau } from '../../src/train/schedulers.js';

test('ReduceLROnPlateau multiplies lr by factor after patience bad epochs, not below min', () => {
  const s = new ReduceLROnPlateau(0.5, 2, 0.2);
  let lr = 1;
  lr = s.step(0.5, lr); // best
  lr = s.step(0.5, lr); // bad 1
  lr = s.step(0.4, lr); // bad 2
  assert.equal(lr, 1);
  lr = s.step(0.4, lr); // bad 3 > patience -> reduce
  assert.equal(lr, 0.5);
  for (let i = 0; i < 9; i++) lr = s.step(0.1, lr);
  assert.equal(lr, 0.2);
  lr = s.step(0.9, lr);
  assert.equal(s.badEpochs, 0);
});

test('cosine with warmup: linear ramp, peak, then decay to min', () => {
  assert.equal(cosineWithWarmup(0, 100, 10, 1, 0), 0.1);
  assert.equal(cosineWithWarmup(9, 100, 10, 1, 0), 1);
  assert.ok(Math.abs(cosineWithWarmup(10, 100, 10, 1, 0) - 1) < 1e-12);
  assert.ok(Math.abs(cosineWithWarmup(55, 100, 10, 1, 0) - 0.5) < 1e-12);
  assert.ok(Math.abs(cosineWithWarmup(100, 100, 10, 1, 0.01) - 0.01) < 1e-12);
});

test('early stopping waits patience epochs past the best, honouring min_delta', () => {
  const e = new EarlyStopping(2, 0.01);
  assert.equal(e.update(0.5), false);
  assert.equal(e.update(0.505), false); // not > best + min_delta
  assert.equal(e.update(0.52), false); // improvement resets
  assert.equal(e.update(0.52), false);
  assert.equal(e.update(0.525), true);
  assert.equal(e.best, 0.52);
});
