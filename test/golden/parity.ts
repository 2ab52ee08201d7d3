/** Registers one parity test per golden case of a model family, on the cpu, wasm and torch backends (torch: its fused kernels, e.g. LayerNorm). */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as torch from '@plumage/tfjs-backend-torch';
import { selectBackend } from '../../src/runtime/backend.js';
import { GOLDEN_DIR, goldenCases, runCase } from './golden-util.js';

/** Tolerance from the brief: max abs error < 1e-4 in float32 for logits, pooler_output and every hidden state. */
export const TOL = 1e-4;

export function registerParityTests(prefix: string, build: (config: Record<string, unknown>) => tfl.LayersModel): void {
  const cases = goldenCases(prefix);
  if (cases === null) {
    test(`${prefix} golden parity`, { skip: `golden vectors not found at ${GOLDEN_DIR} (../shared/golden relative to the repo root)` }, () => {});
    return;
  }
  test(`${prefix}: golden cases present`, () => assert.ok(cases.length > 0, `no ${prefix}* cases in ${GOLDEN_DIR}`));
  for (const backend of ['cpu', 'wasm', 'torch'] as const) {
    const skip = backend === 'torch' && torch.loadError ? `torch addon not built: ${torch.loadError.message}` : false;
    for (const c of cases) {
      test(`${c} matches HF on ${backend}`, { skip }, async () => {
        await selectBackend(backend, () => {});
        assert.equal(tf.getBackend(), backend);
        const { errors, report } = await runCase(c, build);
        assert.ok(report.loaded.length > 0);
        assert.deepEqual(report.unused, []);
        for (const required of ['logits', 'pooler_output', 'last_hidden_state', 'hidden_states.0']) assert.ok(errors.has(required), `${c}: ${required} not compared`);
        const summary = [...errors].map(([k, v]) => `${k}=${v.err.toExponential(2)}`).join(' ');
        console.log(`${backend} ${c}: ${summary}`);
        for (const [key, { err }] of errors) assert.ok(err < TOL, `${c} (${backend}): ${key} max abs error ${err} >= ${TOL}`);
      });
    }
  }
}
