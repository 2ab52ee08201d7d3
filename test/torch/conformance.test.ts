import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Summary } from './conformance.js';
import { loadError } from '@plumage/tfjs-backend-torch';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test("tfjs-core's own test suite passes on the torch backend, gradients through plumage's backward pass (explicit exclusions only)", { skip: loadError ? `torch addon not built: ${loadError.message}` : false }, () => {
  // A child process: jasmine installs globals and the spec environment resets the tfjs engine.
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/torch/conformance.ts', '--json'], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let s: Summary;
  try {
    s = JSON.parse(last) as Summary;
  } catch {
    assert.fail(`conformance runner gave no summary (status ${r.status}):\n${r.stderr.slice(-3000)}`);
  }
  const failures = s.failed.map((f) => `${f.name}: ${f.messages.join(' | ')}`).join('\n');
  assert.equal(s.failed.length, 0, `failed specs:\n${failures}`);
  assert.deepEqual(s.other, [], 'specs neither passed, failed nor pending');
  for (const e of s.excluded) assert.ok(e.reason.length > 20, `exclusion without a reason: ${e.name}`);
  assert.ok(s.passed >= 3000, `only ${s.passed} specs passed`);
  assert.ok((s.leanGradientsCalls ?? 0) > 500, `tfjs's gradient specs ran through the lean backward pass (${s.leanGradientsCalls} calls)`);
  assert.equal(s.loadErrors.length, 0, JSON.stringify(s.loadErrors));
  assert.equal(r.status, 0, r.stderr.slice(-2000));
});
