import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argmaxRows, classificationReport, confusionMatrix } from '../../src/eval/metrics.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);

test('confusion matrix counts true x predicted', () => {
  assert.deepEqual(confusionMatrix([0, 0, 1, 2], [0, 1, 1, 0], 3), [
    [1, 1, 0],
    [0, 1, 0],
    [1, 0, 0],
  ]);
});

test('per-class metrics and macro F1 match a hand computation', () => {
  // class 0: tp=2 fp=1 fn=1 -> p=2/3 r=2/3 f1=2/3; class 1: tp=1 fp=1 fn=0 -> p=1/2 r=1 f1=2/3; class 2: tp=0 fp=0 fn=1 -> 0
  const r = classificationReport([0, 0, 0, 1, 2], [0, 0, 1, 1, 0], ['a', 'b', 'c']);
  close(r.perClass[0]!.precision, 2 / 3);
  close(r.perClass[0]!.recall, 2 / 3);
  close(r.perClass[1]!.f1, 2 / 3);
  assert.equal(r.perClass[2]!.f1, 0);
  close(r.macroF1, (2 / 3 + 2 / 3 + 0) / 3);
  close(r.accuracy, 3 / 5);
});

test('a class absent from labels and predictions is left out of the macro average (scikit-learn rule)', () => {
  const r = classificationReport([0, 1, 1], [0, 1, 0], ['a', 'b', 'c']);
  assert.equal(r.averagedOver, 2);
  // a: p=1/2 r=1 f1=2/3; b: p=1 r=1/2 f1=2/3
  close(r.macroF1, 2 / 3);
});

test('a class only predicted (no support) counts with F1 0', () => {
  const r = classificationReport([0, 0], [0, 2], ['a', 'b', 'c']);
  assert.equal(r.averagedOver, 2);
  // a: p=1 r=1/2 f1=2/3; c: p=0 -> f1=0
  close(r.macroF1, 1 / 3);
  assert.equal(r.perClass[2]!.predicted, 1);
});

test('perfect predictions give macro F1 1', () => {
  const r = classificationReport([0, 1, 2, 2], [0, 1, 2, 2], ['a', 'b', 'c']);
  assert.equal(r.macroF1, 1);
});

test('argmaxRows picks the first maximum per row', () => {
  assert.deepEqual(argmaxRows(new Float32Array([0.1, 0.7, 0.2, 0.5, 0.5, 0]), 3), [1, 0]);
});
