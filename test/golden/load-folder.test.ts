/** loadHfClassifier on the golden folders: same logits as the parity path; a new head keeps the backbone. */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { selectBackend } from '../../src/runtime/backend.js';
import { readSafetensors } from '../../src/weights/safetensors.js';
import { loadHfClassifier } from '../../src/models/hf-classifier.js';
import { GOLDEN_DIR, goldenCases } from './golden-util.js';

const cases = goldenCases('');
if (cases === null) {
  test('loadHfClassifier on golden folders', { skip: `golden vectors not found at ${GOLDEN_DIR}` }, () => {});
} else {
  for (const c of cases) {
    test(`loadHfClassifier(${c}) reproduces the golden logits; numClasses=7 keeps the backbone`, async () => {
      await selectBackend('cpu', () => {});
      const dir = path.join(GOLDEN_DIR, c);
      const { model, modelType, report } = await loadHfClassifier(dir, { normalize: 'none' });
      assert.equal(modelType, c.startsWith('swin') ? 'swinv2' : 'beit');
      assert.deepEqual(report.unused, []);
      const input = (await readSafetensors(path.join(dir, 'input.safetensors'))).get('pixel_values')!;
      const golden = (await readSafetensors(path.join(dir, 'outputs.safetensors'))).get('logits')!;
      const x = tf.transpose(tf.tensor(input.data, input.shape), [0, 2, 3, 1]);
      const logits = (model.predict(x) as tf.Tensor).dataSync();
      let err = 0;
      golden.data.forEach((g, i) => (err = Math.max(err, Math.abs(g - logits[i]!))));
      assert.ok(err < 1e-4, `logits error ${err}`);
      const ft = await loadHfClassifier(dir, { normalize: 'none', numClasses: 7 });
      assert.deepEqual(ft.report.skipped.sort(), ['classifier.bias', 'classifier.weight']);
      assert.deepEqual((ft.model.predict(x) as tf.Tensor).shape, [2, 7]);
      model.dispose();
      ft.model.dispose();
    });
  }
}
