// A process that exits while tensors are still alive (and the caching allocator holds freed blocks) must exit cleanly.
// Regression: static destructors used to free live tensors after the allocator was destroyed (SIGSEGV at exit,
// intermittent in CI). MALLOC_PERTURB_ poisons freed memory so a use-after-destroy crashes every time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as torch from '@plumage/tfjs-backend-torch';

const skip = torch.loadError ? `torch addon not built: ${torch.loadError.message}` : false;

const child = `
const n = require(${JSON.stringify(torch.addonPath)});
const hs = [];
for (let i = 0; i < 40; i++) hs.push(n.fromArray(new Float32Array(100000 + 1000 * i), [100000 + 1000 * i], 6));
for (let i = 0; i < 20; i++) n.free(hs[i]);
if (!(n.cachedBytes() > 0)) throw new Error('expected the allocator to hold freed blocks');
console.log('live', n.liveHandles());
`;

test('a process exits cleanly with live tensors and cached blocks', { skip }, () => {
  for (let run = 0; run < 3; run++) {
    const r = spawnSync(process.execPath, ['-e', child], {
      encoding: 'utf8',
      env: { ...process.env, MALLOC_PERTURB_: '165', OMP_WAIT_POLICY: 'PASSIVE' },
    });
    assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /live 20/);
  }
});
