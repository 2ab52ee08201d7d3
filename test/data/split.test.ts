import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stratifiedKFold, stratifiedSplit } from '../../src/data/split.js';

const labels = Array.from({ length: 103 }, (_, i) => (i < 50 ? 0 : i < 90 ? 1 : 2));

test('stratified split keeps class proportions and is seeded', () => {
  const a = stratifiedSplit(labels, 0.2, 7);
  const b = stratifiedSplit(labels, 0.2, 7);
  const c = stratifiedSplit(labels, 0.2, 8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.val, c.val);
  const count = (idx: number[], cls: number) => idx.filter((i) => labels[i] === cls).length;
  assert.equal(count(a.val, 0), 10);
  assert.equal(count(a.val, 1), 8);
  assert.equal(count(a.val, 2), 3);
  assert.equal(new Set([...a.train, ...a.val]).size, labels.length);
  assert.equal(a.train.length + a.val.length, labels.length);
});

test('stratified k-fold: disjoint validation folds covering everything, balanced per class', () => {
  const folds = stratifiedKFold(labels, 5, 1);
  const seen = folds.flatMap((f) => f.val);
  assert.equal(seen.length, labels.length);
  assert.equal(new Set(seen).size, labels.length);
  for (const f of folds) {
    assert.equal(f.train.length + f.val.length, labels.length);
    const per0 = f.val.filter((i) => labels[i] === 0).length;
    assert.ok(per0 === 10, `class 0 per fold ${per0}`);
  }
});

test('k-fold rejects k < 2', () => {
  assert.throws(() => stratifiedKFold(labels, 1, 0), /k >= 2/);
});
