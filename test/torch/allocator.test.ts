// The caching CPU allocator's pool follows the workload and stays near the peak of live memory: when it is full, a freed
// block of a new size makes room by releasing blocks of other sizes (an inference after a training step used to find
// the pool full of training-sized blocks), and a request it cannot serve releases pooled blocks first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as torch from '@plumage/tfjs-backend-torch';

const skip = torch.loadError ? `torch addon not built: ${torch.loadError.message}` : false;

const MiB = 1 << 20;
/** Child-process prelude: the addon, and four 1 MiB tensors allocated then freed into the pool. */
const prelude = `
const n = require(${JSON.stringify(torch.addonPath)});
const floats = (mib) => new Float32Array(mib * ${MiB / 4});
const small = [0, 1, 2, 3].map(() => n.fromArray(floats(1), [${MiB / 4}], 6));
small.forEach((h) => n.free(h));
`;
const child = `${prelude}
const full = n.cachedBytes();
const big = n.fromArray(floats(2.5), [${(2.5 * MiB) / 4}], 6);
n.free(big);
const afterBig = n.cachedBytes();
const again = n.fromArray(floats(2.5), [${(2.5 * MiB) / 4}], 6);
const reused = n.cachedBytes();
n.free(again);
console.log(JSON.stringify({ full, afterBig, reused }));
`;

test('a full pool releases blocks of other sizes to keep a newly freed one', { skip }, () => {
  const r = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8', env: { ...process.env, PLUMAGE_TORCH_CACHE_MB: '4', OMP_WAIT_POLICY: 'PASSIVE' } });
  assert.equal(r.status, 0, r.stderr);
  const { full, afterBig, reused } = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  assert.equal(full, 4 * MiB, 'four freed 1 MiB blocks fill the 4 MiB pool');
  assert.equal(afterBig, 3.5 * MiB, 'the freed 2.5 MiB block is kept; three 1 MiB blocks were released for it');
  assert.equal(reused, 1 * MiB, 'the next 2.5 MiB tensor is served from the pool');
});

const boundChild = `${prelude}
const pooled = n.cachedBytes();
const big = n.fromArray(floats(3), [${(3 * MiB) / 4}], 6);
console.log(JSON.stringify({ pooled, afterMiss: n.cachedBytes() }));
`;

test('a request the pool cannot serve releases pooled blocks so that the process stays near its peak', { skip }, () => {
  const r = spawnSync(process.execPath, ['-e', boundChild], { encoding: 'utf8', env: { ...process.env, PLUMAGE_TORCH_CACHE_MB: '64', PLUMAGE_TORCH_POOL_SLACK_DIV: '8', OMP_WAIT_POLICY: 'PASSIVE' } });
  assert.equal(r.status, 0, r.stderr);
  const { pooled, afterMiss } = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  assert.equal(pooled, 4 * MiB, 'the pool keeps the four freed 1 MiB blocks (peak 4 MiB live)');
  // with PLUMAGE_TORCH_POOL_SLACK_DIV=8, live 0 + pooled + 3 MiB must fit under 4 MiB + 1/8: three pooled blocks go, one stays
  assert.equal(afterMiss, 1 * MiB);
});
