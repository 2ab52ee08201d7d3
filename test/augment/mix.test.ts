import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mixBatch } from '../../src/augment/batch-mix.js';
import { cutmixBatch } from '../../src/augment/cutmix.js';
import { mixupBatch } from '../../src/augment/mixup.js';
import { Rng } from '../../src/util/random.js';

const B = 8;
const S = 16;
const K = 5;

function batch(seed: number): { x: Float32Array; y: Float32Array } {
  const rng = new Rng(seed);
  const x = new Float32Array(B * S * S * 3);
  // each image a constant colour = its index / B, so the mix weights can be read back from the pixels
  for (let b = 0; b < B; b++) x.fill(b / B, b * S * S * 3, (b + 1) * S * S * 3);
  const y = new Float32Array(B * K);
  for (let b = 0; b < B; b++) y[b * K + rng.int(K)] = 1;
  return { x, y };
}

function rowSums(y: Float32Array): number[] {
  return Array.from({ length: B }, (_, b) => y.subarray(b * K, (b + 1) * K).reduce((a, v) => a + v, 0));
}

for (const [name, fn] of [['cutmix', cutmixBatch], ['mixup', mixupBatch]] as const) {
  test(`${name}: every target row keeps label mass 1 and stays in [0, 1]`, () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { x, y } = batch(seed);
      fn(x, y, B, S, K, 1, new Rng(seed * 7));
      for (const s of rowSums(y)) assert.ok(Math.abs(s - 1) < 1e-5, `seed ${seed}: row sum ${s}`);
      for (const v of y) assert.ok(v >= 0 && v <= 1 + 1e-6);
    }
  });

  test(`${name}: same seed -> identical images and targets; another seed -> different`, () => {
    const a = batch(3);
    const b = batch(3);
    const c = batch(3);
    fn(a.x, a.y, B, S, K, 1, new Rng(42));
    fn(b.x, b.y, B, S, K, 1, new Rng(42));
    fn(c.x, c.y, B, S, K, 1, new Rng(43));
    assert.deepEqual(a.x, b.x);
    assert.deepEqual(a.y, b.y);
    assert.notDeepEqual(a.x, c.x);
  });
}

test('mixup: pixels and targets use the same weight lam', () => {
  const { x, y } = batch(5);
  const orig = { x: x.slice(), y: y.slice() };
  mixupBatch(x, y, B, S, K, 0.4, new Rng(9));
  // image b = lam * b/B + (1-lam) * p/B for a partner p; its target = lam * onehot(b) + (1-lam) * onehot(p)
  let checked = 0;
  for (let b = 0; b < B; b++) {
    const v = x[b * S * S * 3]!;
    for (let p = 0; p < B; p++) {
      if (p === b) continue;
      const lam = (v - p / B) / (b / B - p / B);
      if (!(lam >= 0 && lam <= 1)) continue;
      const want = Array.from({ length: K }, (_, c) => lam * orig.y[b * K + c]! + (1 - lam) * orig.y[p * K + c]!);
      const got = Array.from(y.subarray(b * K, (b + 1) * K));
      if (want.every((w, c) => Math.abs(w - got[c]!) < 1e-4)) {
        checked++;
        break;
      }
    }
  }
  // a row paired with itself (perm fixed point) is unchanged; all others must match one partner exactly
  const unchanged = Array.from({ length: B }, (_, b) => x[b * S * S * 3] === orig.x[b * S * S * 3]).filter(Boolean).length;
  assert.equal(checked + unchanged, B);
});

test('cutmix: the target weight equals the pasted area fraction', () => {
  const { x, y } = batch(2);
  const orig = y.slice();
  cutmixBatch(x, y, B, S, K, 1, new Rng(11));
  for (let b = 0; b < B; b++) {
    const img = x.subarray(b * S * S * 3, (b + 1) * S * S * 3);
    let foreign = 0;
    let partner = b;
    for (let i = 0; i < S * S; i++) {
      if (img[i * 3] !== b / B) {
        foreign++;
        partner = Math.round(img[i * 3]! * B);
      }
    }
    const area = foreign / (S * S);
    for (let c = 0; c < K; c++) {
      const want = partner === b ? orig[b * K + c]! : (1 - area) * orig[b * K + c]! + area * orig[partner * K + c]!;
      assert.ok(Math.abs(y[b * K + c]! - want) < 1e-5, `row ${b} class ${c}: ${y[b * K + c]} vs ${want}`);
    }
  }
});

test('mixBatch: both off consumes no randomness and changes nothing; probability 1 runs the chosen mix', () => {
  const { x, y } = batch(4);
  const before = { x: x.slice(), y: y.slice() };
  const rng = new Rng(1);
  const cfg = { cutmix: 0, cutmixAlpha: 1, mixup: 0, mixupAlpha: 0.4 };
  assert.equal(mixBatch(x, y, B, S, K, cfg, rng), 'none');
  assert.deepEqual(x, before.x);
  assert.equal(rng.next(), new Rng(1).next());
  assert.equal(mixBatch(x, y, B, S, K, { ...cfg, mixup: 1 }, new Rng(2)), 'mixup');
  assert.equal(mixBatch(x, y, B, S, K, { ...cfg, cutmix: 1, mixup: 1 }, new Rng(2)), 'cutmix');
});
