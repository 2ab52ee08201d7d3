/**
 * pytorch_model.bin without PyTorch: real files written by Debian's python3-torch (generated here at test time, and
 * the golden ones), and hostile pickles that must be refused before anything runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PickleSecurityError, unpickle } from '../../src/weights/pickle.js';
import { readSafetensors } from '../../src/weights/safetensors.js';
import { findTorchGlobal } from '../../src/weights/torch-pickle-globals.js';
import { openTorchCheckpoint } from '../../src/weights/torch-checkpoint.js';
import { sharedPath } from '../helpers/shared.js';

const TORCH_PY = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
const noTorch = TORCH_PY ? undefined : 'python3-torch is not installed (apt-get install python3-torch): cannot write a real pytorch_model.bin';

function python(code: string): string {
  const r = spawnSync(TORCH_PY!, ['-c', code], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const WRITE = `
import json, sys, torch
from collections import OrderedDict
torch.manual_seed(0)
base = torch.randn(4, 6)
sd = OrderedDict()
sd['dense.weight'] = torch.randn(3, 5)
sd['half'] = torch.randn(7).half()
sd['bf16'] = torch.randn(2, 3).bfloat16()
sd['double'] = torch.randn(2, 2).double()
sd['index'] = torch.arange(-3, 9).long().reshape(3, 4)
sd['transposed'] = base.t()                  # a non-contiguous view
sd['slice'] = base[1:3, 2:5]                 # offset + strides into a shared storage
sd['param'] = torch.nn.Parameter(torch.randn(2, 2))
sd['scalar'] = torch.tensor(3.5)
torch.save(sd, sys.argv[1] + '/zip.bin')
torch.save(sd, sys.argv[1] + '/legacy.bin', _use_new_zipfile_serialization=False)
print(json.dumps({k: {'shape': list(v.shape), 'values': v.detach().float().flatten().tolist()} for k, v in sd.items()}))
`;

test('a pytorch_model.bin written by PyTorch (zip and legacy format) loads with the same tensors: dtypes, views, offsets, parameters', { skip: noTorch }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-torch-'));
  const r = spawnSync(TORCH_PY!, ['-c', WRITE, dir], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const want = JSON.parse(r.stdout) as Record<string, { shape: number[]; values: number[] }>;
  for (const f of ['zip.bin', 'legacy.bin']) {
    const src = await openTorchCheckpoint(path.join(dir, f));
    assert.deepEqual(src.keys(), Object.keys(want), `${f}: keys in order`);
    for (const [k, w] of Object.entries(want)) {
      const t = await src.read(k);
      assert.deepEqual(t.shape, w.shape, `${f}: ${k} shape`);
      assert.deepEqual(Array.from(t.data), w.values.map((v) => Math.fround(v)), `${f}: ${k} values`);
    }
  }
});

const golden = sharedPath('golden');
test('the golden pytorch_model.bin files (zip and legacy) hold exactly the tensors of model.safetensors', { skip: golden.skip }, async () => {
  const cases = fs.readdirSync(golden.path).filter((c) => fs.existsSync(path.join(golden.path, c, 'pytorch_model.bin')));
  assert.ok(cases.length >= 6);
  for (const c of cases) {
    const ref = await readSafetensors(path.join(golden.path, c, 'model.safetensors'));
    for (const f of ['pytorch_model.bin', 'pytorch_model.legacy.bin']) {
      const p = path.join(golden.path, c, f);
      if (!fs.existsSync(p)) continue;
      const src = await openTorchCheckpoint(p);
      assert.deepEqual([...src.keys()].sort(), [...ref.keys()].sort(), `${c}/${f}`);
      for (const [k, t] of ref) {
        const got = await src.read(k);
        assert.deepEqual(got.shape, t.shape, `${c}/${f}: ${k}`);
        assert.ok(got.data.every((v, i) => v === t.data[i]), `${c}/${f}: ${k} bit-identical`);
      }
    }
  }
});

/** Pickle protocol 2 for `os.system('touch <marker>')`, hand-assembled (what `pickle.dumps` of a __reduce__ exploit gives). */
function hostilePickle(module: string, name: string, arg: string): Buffer {
  const a = Buffer.from(arg, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(a.length);
  return Buffer.concat([Buffer.from([0x80, 2]), Buffer.from(`c${module}\n${name}\n`, 'latin1'), Buffer.from([0x58]), len, a, Buffer.from([0x85, 0x52, 0x2e])]);
}

test('a hostile pickle (os.system via REDUCE) is refused by name and nothing runs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-hostile-'));
  const marker = path.join(dir, 'pwned');
  for (const [m, n] of [['os', 'system'], ['posix', 'system'], ['builtins', 'eval'], ['subprocess', 'Popen'], ['torch', 'load']]) {
    assert.throws(() => unpickle(hostilePickle(m!, n!, `touch ${marker}`), { findGlobal: findTorchGlobal, source: 'evil.pkl' }), (err: Error) => err instanceof PickleSecurityError && err.message.includes(`'${m}.${n}'`));
  }
  const file = path.join(dir, 'pytorch_model.bin');
  fs.writeFileSync(file, hostilePickle('os', 'system', `touch ${marker}`));
  await assert.rejects(openTorchCheckpoint(file), (err: Error) => err instanceof PickleSecurityError && /refused to load/.test(err.message) && err.message.includes('os.system'));
  // Class instantiation opcodes are refused too, even for an allowed name.
  assert.throws(() => unpickle(Buffer.from([0x80, 2, ...Buffer.from('ccollections\nOrderedDict\n', 'latin1'), 0x29, 0x81, 0x2e]), { findGlobal: findTorchGlobal, source: 'x' }), /NEWOBJ/);
  assert.equal(fs.existsSync(marker), false, 'the command did not run');
});

test('a torch.save zip whose pickle smuggles os.system next to real tensors is refused and nothing runs', { skip: noTorch }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-hostile-zip-'));
  const marker = path.join(dir, 'pwned');
  python(`
import os, torch
class Evil:
    def __reduce__(self):
        return (os.system, (${JSON.stringify(`touch ${marker}`)},))
torch.save({'w': torch.zeros(2), 'evil': Evil()}, ${JSON.stringify(path.join(dir, 'pytorch_model.bin'))})
`);
  assert.equal(fs.existsSync(marker), false);
  await assert.rejects(openTorchCheckpoint(path.join(dir, 'pytorch_model.bin')), (err: Error) => err instanceof PickleSecurityError && /'(os|posix)\.system'/.test(err.message));
  assert.equal(fs.existsSync(marker), false, 'the command did not run');
});
