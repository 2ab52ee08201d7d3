import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs's gradient functions (the tfjs-core node bundle does not)
import { selectBackend } from '../../src/runtime/backend.js';
import { WASM_TRAINING_KERNELS, capturedKernel } from '../../src/runtime/wasm/index.js';
import { GEMM_1X1, SUBPIXEL } from '../../src/runtime/wasm/conv2d.js';
import { DW_STRIDED_DX } from '../../src/runtime/wasm/depthwise.js';
import { rand } from '../helpers/random-values.js';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
const PADS: Pad[] = ['same', 'valid', 1, [[0, 0], [1, 2], [0, 1], [0, 0]]];
const STRIDES = [1, 2];
const KERNELS = [1, 3, 5];
const BATCHES = [1, 3];


/** Runs fn on the given backend and returns the flattened result + shape. */
function on(backend: string, fn: () => tf.Tensor): { values: Float32Array; shape: number[] } {
  tf.setBackend(backend);
  const t = tf.tidy(fn);
  const values = t.dataSync() as Float32Array;
  const shape = t.shape.slice();
  t.dispose();
  return { values: Float32Array.from(values), shape };
}

function assertClose(actual: { values: Float32Array; shape: number[] }, expected: { values: Float32Array; shape: number[] }, what: string, tol = 1e-4): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  let maxAbs = 0;
  let maxDiff = 0;
  for (let i = 0; i < expected.values.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(expected.values[i]!));
    const d = Math.abs(actual.values[i]! - expected.values[i]!);
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
  }
  const rel = maxDiff / Math.max(1, maxAbs);
  assert.ok(rel < tol, `${what}: max rel error ${rel} (max |diff| ${maxDiff}, max |ref| ${maxAbs})`);
}

/** Compares a kernel run on wasm vs cpu and checks that the wasm run leaks no tensors. */
function parity(what: string, build: () => tf.Tensor, tol = 1e-4): void {
  const ref = on('cpu', build);
  tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  const got = on('wasm', build);
  tf.setBackend('wasm');
  assert.equal(tf.memory().numTensors, before, `${what}: tensor leak`);
  assertClose(got, ref, what, tol);
}

function outSize(inSize: number, k: number, s: number, pad: Pad, dim: 1 | 2): number {
  if (pad === 'same') return Math.ceil(inSize / s);
  if (pad === 'valid') return Math.ceil((inSize - k + 1) / s);
  const [a, b] = typeof pad === 'number' ? [pad, pad] : pad[dim];
  return Math.floor((inSize + a + b - k) / s) + 1;
}

function padName(p: Pad): string {
  return typeof p === 'string' ? p : JSON.stringify(p);
}

before(async () => {
  await selectBackend('wasm');
});

describe('wasm training kernels: registration', () => {
  test('all added kernels are registered on wasm and the stock Conv2DBackpropInput and Tile were replaced', () => {
    for (const name of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(name, 'wasm'), name);
    for (const name of ['Conv2DBackpropInput', 'Tile']) {
      const stock = capturedKernel(name);
      assert.ok(stock, `stock ${name} captured`);
      assert.notEqual(tf.getKernel(name, 'wasm')!.kernelFunc, stock!.kernelFunc);
    }
  });
});

describe('resource use', () => {
  test('repeated kernel calls keep the wasm heap size and backend data ids flat (intermediates and XNNPACK operators freed)', () => {
    tf.setBackend('wasm');
    const be = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array }; numDataIds(): number };
    const x = tf.tensor4d(rand(4 * 16 * 16 * 8, 1), [4, 16, 16, 8]);
    const dy = tf.tensor4d(rand(4 * 8 * 8 * 8, 2), [4, 8, 8, 8]);
    const dydw = tf.tensor4d(rand(4 * 8 * 8 * 16, 3), [4, 8, 8, 16]);
    const dy1 = tf.tensor4d(rand(4 * 16 * 16 * 4, 6), [4, 16, 16, 4]);
    const f = tf.tensor4d(rand(3 * 3 * 8 * 8, 4), [3, 3, 8, 8]);
    const dwf = tf.tensor4d(rand(3 * 3 * 8 * 2, 5), [3, 3, 8, 2]);
    const common = { strides: [2, 2], pad: 'same', dilations: [1, 1], dataFormat: 'NHWC' };
    const round = (): void => {
      for (let i = 0; i < 60; i++) {
        tf.dispose([
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: [3, 3, 8, 8] } as never) as tf.Tensor,
          tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...common, inputShape: [4, 16, 16, 8] } as never) as tf.Tensor,
          tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy: dydw }, { ...common, filterShape: [3, 3, 8, 2] } as never) as tf.Tensor,
          tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dydw, filter: dwf }, { ...common, inputShape: [4, 16, 16, 8] } as never) as tf.Tensor,
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: [1, 1, 8, 8] } as never) as tf.Tensor,
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dy1 }, { ...common, strides: [1, 1], pad: 'valid', filterShape: [1, 1, 8, 4] } as never) as tf.Tensor,
          tf.tile(x, [1, 2, 1, 3]),
        ]);
      }
    };
    round();
    const heap = be.wasm.HEAPU8.length;
    const ids = be.numDataIds();
    round();
    round();
    assert.equal(be.numDataIds(), ids, 'backend data ids grew');
    assert.equal(be.wasm.HEAPU8.length, heap, 'wasm heap grew');
    tf.dispose([x, dy, dydw, dy1, f, dwf]);
  });
});

describe('Conv2DBackpropInput / Conv2DBackpropFilter parity with cpu', () => {
  const H = 7;
  const W = 8;
  const chans: [number, number][] = [[3, 4], [5, 2]];
  for (const s of STRIDES)
    for (const k of KERNELS)
      for (const pad of PADS)
        for (const n of BATCHES)
          for (const [ci, co] of chans) {
            if (typeof pad === 'number' && (pad > 0 && k === 1 && s === 2)) continue; // covered by the other pads
            const oh = outSize(H, k, s, pad, 1);
            const ow = outSize(W, k, s, pad, 2);
            const name = `s${s} k${k} pad=${padName(pad)} n${n} c${ci}->${co}`;
            const seed = s * 1000 + k * 100 + n * 10 + ci;
            test(name, () => {
              const xv = rand(n * H * W * ci, seed);
              const fv = rand(k * k * ci * co, seed + 1);
              const dyv = rand(n * oh * ow * co, seed + 2);
              const attrs = { strides: [s, s], pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
              parity(`${name} dx`, () =>
                tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor4d(dyv, [n, oh, ow, co]), filter: tf.tensor4d(fv, [k, k, ci, co]) }, { ...attrs, inputShape: [n, H, W, ci] } as never) as tf.Tensor,
              );
              parity(`${name} dW`, () =>
                tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, [n, H, W, ci]), dy: tf.tensor4d(dyv, [n, oh, ow, co]) }, { ...attrs, filterShape: [k, k, ci, co] } as never) as tf.Tensor,
              );
            });
          }
  test('tf.grads of conv2d (stride 2, same) matches cpu for both x and filter', () => {
    const xv = rand(2 * 9 * 9 * 3, 7);
    const fv = rand(3 * 3 * 3 * 6, 8);
    for (const which of [0, 1]) {
      parity(`grad ${which}`, () => {
        const g = tf.grads((x: tf.Tensor, f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same'))));
        return g([tf.tensor4d(xv, [2, 9, 9, 3]), tf.tensor4d(fv, [3, 3, 3, 6])])[which]!;
      });
    }
  });
  test('NCHW Conv2DBackpropInput (delegated to the stock wasm kernel) matches cpu', () => {
    parity('nchw dx', () =>
      tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor4d(rand(2 * 4 * 3 * 3, 5), [2, 4, 3, 3]), filter: tf.tensor4d(rand(3 * 3 * 2 * 4, 6), [3, 3, 2, 4]) }, { strides: [2, 2], pad: 'same', dataFormat: 'NCHW', inputShape: [2, 2, 6, 5] } as never) as tf.Tensor,
    );
  });
  test('conv2dTranspose (uses Conv2DBackpropInput) matches cpu', () => {
    parity('conv2dTranspose', () => tf.conv2dTranspose(tf.tensor4d(rand(2 * 4 * 4 * 6, 3), [2, 4, 4, 6]), tf.tensor4d(rand(3 * 3 * 5 * 6, 4), [3, 3, 5, 6]), [2, 8, 8, 5], 2, 'same'));
  });
});

describe('Conv2DBackpropInput strided formulations (sub-pixel phases and zero-insertion) vs cpu', () => {
  const H = 9;
  const W = 10;
  for (const subpixel of [true, false])
    for (const s of [2, 3])
      for (const k of [1, 2, 3, 4, 5])
        for (const pad of PADS) {
          const name = `${subpixel ? 'phases' : 'zero-insert'} s${s} k${k} pad=${padName(pad)}`;
          test(name, () => {
            const oh = outSize(H, k, s, pad, 1);
            const ow = outSize(W, k, s, pad, 2);
            const fv = rand(k * k * 3 * 2, k + s);
            const dyv = rand(2 * oh * ow * 2, 7 * k + s);
            SUBPIXEL.enabled = subpixel;
            try {
              parity(name, () =>
                tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor4d(dyv, [2, oh, ow, 2]), filter: tf.tensor4d(fv, [k, k, 3, 2]) }, { strides: [s, s], pad, dataFormat: 'NHWC', inputShape: [2, H, W, 3] } as never) as tf.Tensor,
              );
            } finally {
              SUBPIXEL.enabled = true;
            }
          });
        }
});

describe('Conv2DBackpropFilter 1x1: general one-conv formulation (GEMM path disabled) vs cpu', () => {
  for (const s of STRIDES)
    for (const pad of PADS)
      for (const [ci, co] of [[3, 4], [5, 2]] as const) {
        const name = `s${s} pad=${padName(pad)} c${ci}->${co}`;
        test(name, () => {
          const oh = outSize(7, 1, s, pad, 1);
          const ow = outSize(8, 1, s, pad, 2);
          const xv = rand(3 * 7 * 8 * ci, s + ci);
          const dyv = rand(3 * oh * ow * co, s + co);
          GEMM_1X1.enabled = false;
          try {
            parity(name, () =>
              tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, [3, 7, 8, ci]), dy: tf.tensor4d(dyv, [3, oh, ow, co]) }, { strides: [s, s], pad, dataFormat: 'NHWC', filterShape: [1, 1, ci, co] } as never) as tf.Tensor,
            );
          } finally {
            GEMM_1X1.enabled = true;
          }
        });
      }
});

describe('DepthwiseConv2dNative backprop parity with cpu', () => {
  const H = 7;
  const W = 8;
  const chans: [number, number][] = [[3, 1], [4, 2]];
  for (const s of STRIDES)
    for (const k of KERNELS)
      for (const pad of PADS)
        for (const n of BATCHES)
          for (const [c, m] of chans) {
            const oh = outSize(H, k, s, pad, 1);
            const ow = outSize(W, k, s, pad, 2);
            const name = `s${s} k${k} pad=${padName(pad)} n${n} c${c} x${m}`;
            const seed = 5 + s * 1000 + k * 100 + n * 10 + c;
            test(name, () => {
              const xv = rand(n * H * W * c, seed);
              const fv = rand(k * k * c * m, seed + 1);
              const dyv = rand(n * oh * ow * c * m, seed + 2);
              const attrs = { strides: [s, s], pad, dilations: [1, 1], dimRoundingMode: undefined };
              parity(`${name} dx`, () =>
                tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor4d(dyv, [n, oh, ow, c * m]), filter: tf.tensor4d(fv, [k, k, c, m]) }, { ...attrs, inputShape: [n, H, W, c] } as never) as tf.Tensor,
              );
              parity(`${name} dW`, () =>
                tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor4d(xv, [n, H, W, c]), dy: tf.tensor4d(dyv, [n, oh, ow, c * m]) }, { ...attrs, filterShape: [k, k, c, m] } as never) as tf.Tensor,
              );
            });
          }
  test('tf.grads of depthwiseConv2d (multiplier 2, stride 2) matches cpu', () => {
    for (const which of [0, 1]) {
      parity(`grad ${which}`, () => {
        const g = tf.grads((x: tf.Tensor, f: tf.Tensor) => tf.sum(tf.square(tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same'))));
        return g([tf.tensor4d(rand(3 * 9 * 9 * 4, 11), [3, 9, 9, 4]), tf.tensor4d(rand(3 * 3 * 4 * 2, 12), [3, 3, 4, 2])])[which]!;
      });
    }
  });
});

describe('Tile (block-copy replacement) parity with cpu', () => {
  const cases: [number[], number[]][] = [
    [[], []],
    [[5], [3]],
    [[2, 3], [1, 1]],
    [[2, 3], [3, 1]],
    [[2, 3], [1, 4]],
    [[2, 3], [2, 5]],
    [[1, 1, 1, 7], [3, 4, 5, 1]],
    [[2, 1, 3, 4], [1, 3, 1, 2]],
    [[3, 2, 2, 1, 2], [2, 1, 3, 4, 1]],
    [[4, 0, 2], [2, 3, 1]],
  ];
  for (const [shape, reps] of cases) {
    test(`shape [${shape}] reps [${reps}]`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      parity('float32', () => tf.tile(tf.tensor(rand(n, n + 1), shape), reps));
      parity('int32', () => tf.cast(tf.tile(tf.tensor(Int32Array.from({ length: n }, (_, i) => i * 3 - 5), shape, 'int32'), reps), 'float32'));
      parity('bool', () => tf.cast(tf.tile(tf.tensor(Uint8Array.from({ length: n }, (_, i) => i % 3 === 0 ? 1 : 0), shape, 'bool'), reps), 'float32'));
    });
  }
  test('string tensors', () => {
    const run = (backend: string): string[] => {
      tf.setBackend(backend);
      const t = tf.tile(tf.tensor([['a', 'bb', 'c'], ['d', 'e', 'ff']], [2, 3], 'string'), [2, 2]);
      const v = t.dataSync() as unknown as string[];
      assert.deepEqual(t.shape, [4, 6]);
      t.dispose();
      return Array.from(v);
    };
    const cpu = run('cpu');
    assert.deepEqual(run('wasm'), cpu);
    tf.setBackend('wasm');
  });
  test('gradient of batchNorm (uses Tile) matches cpu', () => {
    const x = rand(3 * 4 * 5 * 6, 21);
    for (const which of [0, 1, 2]) {
      parity(`bn grad ${which}`, () => {
        const g = tf.grads((xx: tf.Tensor, sc: tf.Tensor, of: tf.Tensor) => {
          const { mean, variance } = tf.moments(xx, [0, 1, 2]);
          return tf.sum(tf.square(tf.batchNorm(xx, mean, variance, of as tf.Tensor1D, sc as tf.Tensor1D, 1e-3)));
        });
        return g([tf.tensor4d(x, [3, 4, 5, 6]), tf.tensor1d(rand(6, 3)), tf.tensor1d(rand(6, 4))])[which]!;
      });
    }
  });
});

describe('DepthwiseConv2dNativeBackpropInput strided formulations (phases and zero-insertion) vs cpu', () => {
  for (const mode of ['phases', 'zero-insert'] as const)
    for (const s of [2, 3])
      for (const k of [1, 2, 3, 5])
        for (const pad of PADS) {
          const name = `${mode} s${s} k${k} pad=${padName(pad)}`;
          test(name, () => {
            const oh = outSize(9, k, s, pad, 1);
            const ow = outSize(10, k, s, pad, 2);
            const fv = rand(k * k * 3 * 2, k + s);
            const dyv = rand(2 * oh * ow * 6, 5 * k + s);
            DW_STRIDED_DX.mode = mode;
            try {
              parity(name, () =>
                tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor4d(dyv, [2, oh, ow, 6]), filter: tf.tensor4d(fv, [k, k, 3, 2]) }, { strides: [s, s], pad, dilations: [1, 1], inputShape: [2, 9, 10, 3] } as never) as tf.Tensor,
              );
            } finally {
              DW_STRIDED_DX.mode = 'auto';
            }
          });
        }
});

describe('UnsortedSegmentSum parity with cpu', () => {
  test('float32 rows, 1-D ids with a negative (dropped) id', () => {
    const ids = [0, 2, 2, -1, 4, 0];
    parity('float', () => tf.unsortedSegmentSum(tf.tensor2d(rand(6 * 5, 3), [6, 5]), tf.tensor1d(ids, 'int32'), 5));
  });
  test('int32 values and 1-D input', () => {
    parity('int', () => tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4, 5], 'int32'), tf.tensor1d([1, 1, 0, 3, 1], 'int32'), 4));
  });
  test('gather gradient (uses UnsortedSegmentSum) matches cpu', () => {
    parity('gather grad', () => tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.gather(x, tf.tensor1d([1, 3, 1, 0], 'int32')))))(tf.tensor2d(rand(4 * 3, 9), [4, 3])));
  });
});
