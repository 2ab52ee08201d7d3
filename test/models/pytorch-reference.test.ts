/** bench:hub's PyTorch SwinV2/BEiT (bench/pytorch/hf_vit.py) reproduce the golden HF outputs, so the benchmark compares like with like. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot, sharedPath } from '../helpers/shared.js';

const python = process.env.PLUMAGE_PYTHON ?? '/usr/bin/python3';
const hasTorch = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const golden = sharedPath('golden');

test('the PyTorch reference of bench:hub matches every golden case (max |logits - golden| < 1e-4)', { skip: golden.skip ?? (hasTorch ? undefined : 'python3-torch is not installed (apt-get install python3-torch)'), timeout: 120_000 }, () => {
  const r = spawnSync(python, [path.join(repoRoot, 'bench', 'pytorch', 'hf_vit.py'), '--golden', golden.path], { encoding: 'utf8', timeout: 110_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { golden_max_abs_logits_err: Record<string, number>; 'all_below_1e-4': boolean };
  assert.equal(Object.keys(out.golden_max_abs_logits_err).length, 6);
  assert.ok(out['all_below_1e-4'], JSON.stringify(out));
});
