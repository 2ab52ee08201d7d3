import * as tf from '@tensorflow/tfjs-layers';
import * as tfc from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/runtime/backend.js';
import { buildResNet, resnetConfigs } from '../../src/models/resnet.js';
const be = process.argv[2] ?? 'torch';
console.log(await selectBackend(be as 'torch'));
const model = buildResNet(resnetConfigs['resnet-mini']);
model.compile({ optimizer: tfc.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' as never });
const B = Number(process.argv[3] ?? 64);
const x = tfc.randomUniform([B, 64, 64, 3]);
const y = tfc.tensor1d(Array.from({length: B}, (_, i) => i % 25), 'float32');
for (let i = 0; i < 4; i++) {
  const t0 = performance.now();
  const loss = await model.trainOnBatch(x, y);
  console.log('step', i, loss, (performance.now() - t0).toFixed(0), 'ms', tfc.memory().numTensors);
}
let t0 = performance.now();
for (let i = 0; i < 3; i++) { const p = model.predict(x) as tfc.Tensor; p.dataSync(); p.dispose(); }
console.log('infer', ((performance.now() - t0)/3).toFixed(0), 'ms');
const torch = await import('@plumage/tfjs-backend-torch');
const rows = [...torch.profile.entries()].sort((p, q) => q[1].ms - p[1].ms).slice(0, 25);
for (const [k, v] of rows) console.log(k.padEnd(36), v.ms.toFixed(0).padStart(8), String(v.calls).padStart(6));
