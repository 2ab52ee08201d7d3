/**
 * Micro-benchmark of plumage's wasm training kernels on resnet-mini / MobileNetV2-like shapes.
 *
 *   npx tsx bench/wasm-kernels.ts [--batch 32] [--reps 5] [--cpu] [--out bench/results/wasm-kernels.json]
 *
 * For each shape: wasm forward Conv2D (reference), the STOCK wasm Conv2DBackpropInput vs plumage's (forward-conv
 * formulation; for strides > 1 also the zero-insertion variant vs the default sub-pixel phases), plumage's Conv2DBackpropFilter (one forward conv) vs the im2col + BatchMatMul alternative vs the cpu
 * backend's JS kernel (with --cpu); depthwise backprop (conv formulation vs a JS loop); and a whole resnet-mini training
 * step with all plumage kernels vs the stock wasm Conv2DBackpropInput (and Tile) swapped back in.
 * Timings are medians of --reps runs after a warm-up; the machine may be shared, so the load average is recorded.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { selectBackend } from '../src/runtime/backend.js';
import { capturedKernel } from '../src/runtime/wasm/index.js';
import { GEMM_1X1, SUBPIXEL, conv2DBackpropFilterIm2col } from '../src/runtime/wasm/conv2d.js';
import { DW_STRIDED_DX, depthwiseConv2dNativeBackpropFilterLoop } from '../src/runtime/wasm/depthwise.js';
import { buildResNet, resnetConfigs } from '../src/models/resnet.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}
const BATCH = Number(arg('batch', '32'));
const REPS = Number(arg('reps', '5'));
const OUT = arg('out', 'bench/results/wasm-kernels.json');
const CPU_REF = process.argv.includes('--cpu'); // the cpu backend's scalar kernel: very slow, opt-in

type Info = tf.TensorInfo;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median ms of fn (which returns an output to dispose). */
function time(fn: () => Info | tf.Tensor, dispose: (o: Info | tf.Tensor) => void, reps = REPS): number {
  dispose(fn()); // warm-up (XNNPACK operator creation, heap growth)
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const o = fn();
    ts.push(performance.now() - t0);
    dispose(o);
  }
  return median(ts);
}

function maxRelDiff(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return m / Math.max(1e-6, s);
}

interface ConvCase { name: string; h: number; ci: number; co: number; k: number; s: number }
// resnet-mini (64x64 input) conv layers; the 1x1 stride-2 ones are the projection shortcuts.
const CONV_CASES: ConvCase[] = [
  { name: 'stem 3x3 s1 64x64 3->32', h: 64, ci: 3, co: 32, k: 3, s: 1 },
  { name: 's1a 3x3 s2 64x64 32->32', h: 64, ci: 32, co: 32, k: 3, s: 2 },
  { name: 's1b 3x3 s1 32x32 32->32', h: 32, ci: 32, co: 32, k: 3, s: 1 },
  { name: 's2a 3x3 s2 32x32 32->64', h: 32, ci: 32, co: 64, k: 3, s: 2 },
  { name: 's2proj 1x1 s2 32x32 32->64', h: 32, ci: 32, co: 64, k: 1, s: 2 },
  { name: 's2b 3x3 s1 16x16 64->64', h: 16, ci: 64, co: 64, k: 3, s: 1 },
  { name: 's3b 3x3 s1 8x8 128->128', h: 8, ci: 128, co: 128, k: 3, s: 1 },
  { name: 's4b 3x3 s1 4x4 256->256', h: 4, ci: 256, co: 256, k: 3, s: 1 },
  // MobileNetV2-style pointwise expand / project layers
  { name: 'mbv2 1x1 s1 32x32 16->96', h: 32, ci: 16, co: 96, k: 1, s: 1 },
  { name: 'mbv2 1x1 s1 32x32 96->24', h: 32, ci: 96, co: 24, k: 1, s: 1 },
];
interface DwCase { name: string; h: number; c: number; m: number; k: number; s: number }
const DW_CASES: DwCase[] = [
  { name: 'dw 3x3 s1 32x32 c96', h: 32, c: 96, m: 1, k: 3, s: 1 },
  { name: 'dw 3x3 s2 32x32 c96', h: 32, c: 96, m: 1, k: 3, s: 2 },
  { name: 'dw 3x3 s1 16x16 c144', h: 16, c: 144, m: 1, k: 3, s: 1 },
  { name: 'dw 5x5 s1 8x8 c64 x2', h: 8, c: 64, m: 2, k: 5, s: 1 },
  { name: 'dw 5x5 s2 16x16 c64 x2', h: 16, c: 64, m: 2, k: 5, s: 2 },
];

async function main(): Promise<void> {
  await selectBackend('wasm');
  const backend = tf.backend();
  const stock = capturedKernel('Conv2DBackpropInput');
  if (!stock) throw new Error('stock Conv2DBackpropInput was not captured');
  stock.setupFunc?.(backend as never); // it was unregistered before the backend initialised
  const freeInfo = (o: Info | tf.Tensor): void => {
    if (o instanceof tf.Tensor) o.dispose();
    else backend.disposeData(o.dataId);
  };
  const load = { start: os.loadavg(), end: [] as number[] };
  const results: Record<string, unknown>[] = [];
  const log = (s: string): void => console.log(s);
  log(`batch ${BATCH}, reps ${REPS}, ${os.cpus().length} cpus, load ${load.start.map((l) => l.toFixed(2)).join(' ')}`);

  for (const c of CONV_CASES) {
    const oh = Math.ceil(c.h / c.s);
    const x = tf.randomNormal([BATCH, c.h, c.h, c.ci]) as tf.Tensor4D;
    const f = tf.randomNormal([c.k, c.k, c.ci, c.co]) as tf.Tensor4D;
    const dy = tf.randomNormal([BATCH, oh, oh, c.co]) as tf.Tensor4D;
    const common = { strides: [c.s, c.s], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
    const inAttrs = { ...common, inputShape: [BATCH, c.h, c.h, c.ci] };
    const fAttrs = { ...common, filterShape: [c.k, c.k, c.ci, c.co] };
    const fwd = time(() => tf.conv2d(x, f, c.s, 'same'), freeInfo);
    const runIn = (): Info => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, inAttrs as never) as tf.Tensor;
    const runStock = (): Info => stock.kernelFunc({ inputs: { dy, filter: f }, backend, attrs: inAttrs as never }) as Info;
    const dxNew = time(runIn, freeInfo);
    const dxStock = time(runStock, freeInfo, Math.min(REPS, 3));
    let dxZeroInsert: number | null = null;
    if (c.s > 1) {
      SUBPIXEL.enabled = false;
      dxZeroInsert = time(runIn, freeInfo);
      SUBPIXEL.enabled = true;
    }
    const a = runIn() as tf.Tensor;
    const b = runStock();
    const dxDiff = maxRelDiff(a.dataSync(), backend.readSync(b.dataId) as Float32Array);
    a.dispose();
    freeInfo(b);
    const runF = (): Info => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, fAttrs as never) as tf.Tensor;
    const runIm2col = (): Info => conv2DBackpropFilterIm2col({ inputs: { x, dy }, backend: backend as never, attrs: fAttrs as never });
    const dwNew = time(runF, freeInfo);
    let dwGeneral: number | null = null;
    if (c.k === 1) {
      GEMM_1X1.enabled = false;
      dwGeneral = time(runF, freeInfo);
      GEMM_1X1.enabled = true;
    }
    const dwIm2col = time(runIm2col, freeInfo);
    const fa = runF() as tf.Tensor;
    const fb = runIm2col();
    const dwDiff = maxRelDiff(fa.dataSync(), backend.readSync(fb.dataId) as Float32Array);
    fa.dispose();
    freeInfo(fb);
    let dwCpu: number | null = null;
    if (CPU_REF) {
      tf.setBackend('cpu');
      const xc = tf.clone(x);
      const dyc = tf.clone(dy);
      dwCpu = time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x: xc, dy: dyc }, fAttrs as never) as tf.Tensor, freeInfo, 1);
      tf.dispose([xc, dyc]);
      tf.setBackend('wasm');
    }
    tf.dispose([x, f, dy]);
    const r = {
      case: c.name,
      batch: BATCH,
      forwardConv2D_ms: fwd,
      backpropInput: { stock_ms: dxStock, plumage_ms: dxNew, speedup: dxStock / dxNew, zeroInsertVariant_ms: dxZeroInsert, maxRelDiffVsStock: dxDiff },
      backpropFilter: { plumage_ms: dwNew, oneConvFormulationFor1x1_ms: dwGeneral, im2col_matmul_ms: dwIm2col, cpu_backend_ms: dwCpu, maxRelDiffVsIm2col: dwDiff },
    };
    results.push(r);
    log(`${c.name.padEnd(28)} fwd ${fwd.toFixed(1)} | dx stock ${dxStock.toFixed(1)} new ${dxNew.toFixed(1)} (x${(dxStock / dxNew).toFixed(1)})${dxZeroInsert === null ? '' : ` zero-insert ${dxZeroInsert.toFixed(1)}`} | dW ${dwNew.toFixed(1)}${dwGeneral === null ? '' : ` (one-conv ${dwGeneral.toFixed(1)})`} im2col ${dwIm2col.toFixed(1)} cpu ${dwCpu?.toFixed(1) ?? '-'} ms`);
  }

  const dwResults: Record<string, unknown>[] = [];
  for (const c of DW_CASES) {
    const oh = Math.ceil(c.h / c.s);
    const x = tf.randomNormal([BATCH, c.h, c.h, c.c]) as tf.Tensor4D;
    const f = tf.randomNormal([c.k, c.k, c.c, c.m]) as tf.Tensor4D;
    const dy = tf.randomNormal([BATCH, oh, oh, c.c * c.m]) as tf.Tensor4D;
    const common = { strides: [c.s, c.s], pad: 'same', dilations: [1, 1], dimRoundingMode: undefined };
    const fwd = time(() => tf.depthwiseConv2d(x, f, c.s, 'same'), freeInfo);
    const runDx = (): Info => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { ...common, inputShape: [BATCH, c.h, c.h, c.c] } as never) as tf.Tensor;
    const dx = time(runDx, freeInfo);
    const dxModes: Record<string, number> = {};
    if (c.s > 1) {
      for (const mode of ['phases', 'zero-insert'] as const) {
        DW_STRIDED_DX.mode = mode;
        dxModes[mode] = time(runDx, freeInfo);
      }
      DW_STRIDED_DX.mode = 'auto';
    }
    const fAttrs = { ...common, filterShape: [c.k, c.k, c.c, c.m] };
    const runF = (): Info => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, fAttrs as never) as tf.Tensor;
    const runLoop = (): Info => depthwiseConv2dNativeBackpropFilterLoop({ inputs: { x, dy }, backend: backend as never, attrs: fAttrs as never });
    const dwConv = time(runF, freeInfo);
    const dwLoop = time(runLoop, freeInfo);
    const fa = runF() as tf.Tensor;
    const fb = runLoop();
    const diff = maxRelDiff(fa.dataSync(), backend.readSync(fb.dataId) as Float32Array);
    fa.dispose();
    freeInfo(fb);
    tf.dispose([x, f, dy]);
    dwResults.push({ case: c.name, batch: BATCH, forward_ms: fwd, backpropInput_ms: dx, backpropInputByMode_ms: c.s > 1 ? dxModes : null, backpropFilter: { plumage_conv_ms: dwConv, js_loop_ms: dwLoop, maxRelDiff: diff } });
    log(`${c.name.padEnd(28)} fwd ${fwd.toFixed(1)} | dx ${dx.toFixed(1)}${c.s > 1 ? ` (phases ${dxModes['phases']!.toFixed(1)}, zero-insert ${dxModes['zero-insert']!.toFixed(1)})` : ''} | dW conv ${dwConv.toFixed(1)} loop ${dwLoop.toFixed(1)} ms`);
  }

  // A whole resnet-mini training step (forward + backward + adam) on wasm, with the stock vs plumage dx kernel.
  const cfg = resnetConfigs['resnet-mini'];
  const model = buildResNet(cfg);
  const opt = tf.train.adam(1e-3);
  const xs = tf.randomUniform([BATCH, cfg.inputSize, cfg.inputSize, 3]);
  const ys = tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % cfg.numClasses), 'int32'), cfg.numClasses);
  const step = (): tf.Tensor => opt.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
  const stepReps = Math.max(2, Math.min(REPS, 3));
  const stepNew = time(step, freeInfo, stepReps);
  const swapIn = (name: string, config: tf.KernelConfig): tf.KernelConfig => {
    const prev = tf.getKernel(name, 'wasm')!;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(config);
    return prev;
  };
  const stockTile = capturedKernel('Tile');
  if (!stockTile) throw new Error('stock Tile was not captured');
  stockTile.setupFunc?.(backend as never);
  const oursDx = swapIn('Conv2DBackpropInput', { ...stock, setupFunc: undefined });
  const stepStockDx = time(step, freeInfo, stepReps);
  const oursTile = swapIn('Tile', { ...stockTile, setupFunc: undefined });
  const stepStockDxTile = time(step, freeInfo, stepReps);
  swapIn('Conv2DBackpropInput', oursDx);
  swapIn('Tile', oursTile);
  tf.dispose([xs, ys]);
  opt.dispose();
  model.dispose();
  log(`resnet-mini train step (batch ${BATCH}, 64x64): ${stepNew.toFixed(0)} ms all plumage kernels; ${stepStockDx.toFixed(0)} ms with stock Conv2DBackpropInput; ${stepStockDxTile.toFixed(0)} ms with stock Conv2DBackpropInput + Tile`);

  load.end = os.loadavg();
  const report = {
    command: `npx tsx bench/wasm-kernels.ts --batch ${BATCH} --reps ${REPS}`,
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadavg: load,
    note: 'Shared 2-core machine; other jobs were running, so absolute times are noisy. Ratios within a row were measured back to back.',
    conv2d: results,
    depthwise: dwResults,
    resnetMiniTrainStep: {
      batch: BATCH,
      inputSize: cfg.inputSize,
      allPlumageKernels_ms: stepNew,
      stockConv2DBackpropInput_ms: stepStockDx,
      stockConv2DBackpropInputAndTile_ms: stepStockDxTile,
      note: 'forward + backward + adam update via optimizer.minimize; the stock variants swap the stock wasm kernels back in',
    },
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(report, null, 2) + '\n');
  log(`wrote ${OUT}; load ${load.end.map((l) => l.toFixed(2)).join(' ')}`);
  void tfl;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
