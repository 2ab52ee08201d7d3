import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { ConformanceSummary } from './wasm-conformance.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test("tfjs-core's conv/depthwise/transpose/segment-sum specs pass on wasm with plumage's training kernels", () => {
  // A child process: jasmine installs globals and the spec environment resets the tfjs engine.
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/conformance/wasm-conformance.ts', '--json'], { cwd: root, encoding: 'utf8', timeout: 170_000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let s: ConformanceSummary;
  try {
    s = JSON.parse(last) as ConformanceSummary;
  } catch {
    assert.fail(`conformance runner gave no summary (status ${r.status}):\n${r.stderr.slice(-3000)}`);
  }
  const failures = s.failed.map((f) => `${f.name}: ${f.messages.join(' | ')}`).join('\n');
  assert.equal(s.failed.length, 0, `failed specs:\n${failures}`);
  assert.deepEqual(s.other, [], 'specs neither passed nor failed (pending/incomplete)');
  for (const e of s.excluded) assert.ok(e.reason.length > 20, `exclusion without a reason: ${e.name}`);
  // The suite really ran: every relevant suite contributed passing specs.
  for (const [suite, n] of Object.entries(s.passedBySuite)) assert.ok(n > 0, `no passing spec in '${suite}'`);
  assert.ok(s.passed >= 100, `only ${s.passed} specs passed`);
  assert.equal(r.status, 0, r.stderr.slice(-2000));
});
