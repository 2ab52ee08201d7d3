// The torch fast-path gradients (Relu, Relu6/clip, ...) are used whatever the import order: a program that selected
// the torch backend before importing tfjs-layers used to train with tfjs's composed gradients (Step + Select +
// LogicalAnd, 45% of a MobileNetV2 training step). Runs in a child process: import order is per process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@plumage/tfjs-backend-torch';

const here = path.dirname(fileURLToPath(import.meta.url));
const skip = torch.loadError ? `torch addon not built: ${torch.loadError.message}` : false;

test('ReLU6 gradient uses the fused kernels when the backend is selected before tfjs-layers is imported', { skip }, () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'fused-gradients-order.ts')], {
    encoding: 'utf8',
    env: { ...process.env, PLUMAGE_TORCH_PROFILE: '1' },
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const kernels = JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
  assert.ok(kernels.includes('TorchClipGrad') && kernels.includes('TorchReluGrad'), `fused gradient kernels ran: ${kernels.join(' ')}`);
  for (const composed of ['Select', 'LogicalAnd', 'Step']) assert.ok(!kernels.includes(composed), `no composed ${composed}: ${kernels.join(' ')}`);
});
