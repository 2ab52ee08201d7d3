/**
 * bench:speed — training and inference throughput of the reference CNN (resnet-mini, 64x64, batch 64) on the wasm
 * backend, the torch backend (libtorch addon) and PyTorch itself (Debian python3-torch, bench/pytorch/resnet_mini.py,
 * same architecture), plus MobileNetV2 1.0 at 224px batch 32 on torch vs PyTorch, plus an RSS check over many
 * resnet-mini training steps on torch. Writes bench/results/speed.json.
 *
 *   npm run bench:speed [-- --quick] [--skip-wasm] [--skip-ort] [--rounds N] [--models resnet-mini,mobilenetv2] [--threads N] [--out NAME]
 *
 * ONNX Runtime (onnxruntime-node) runs the PyTorch reference models exported with torch.onnx.export (opset 13) for
 * inference. Every model runs on every framework once per round, 5 interleaved rounds by default (`--rounds N`); the
 * JSON keeps every round and reports median / min / max per figure and medians of per-round ratios.
 *
 * Each measurement runs in its own process (clean RSS, no backend interference). Threads: PLUMAGE_THREADS for torch,
 * torch.set_num_threads for PyTorch (default 2 each).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};

type ModelName = 'resnet-mini' | 'mobilenetv2';
interface Spec {
  model: ModelName;
  batch: number;
  size: number;
  classes: number;
  warmup: number;
  steps: number;
  inferSteps: number;
}
interface Measured {
  backend: string;
  model: ModelName;
  batch: number;
  size: number;
  threads?: number;
  train_step_s?: number;
  train_images_per_s?: number;
  infer_step_s?: number;
  infer_images_per_s?: number;
  max_rss_mb?: number;
  error?: string;
  [k: string]: unknown;
}

// ------------------------------------------------------------------------------------------------ worker side
async function buildModel(spec: Spec) {
  const tfl = await import('@tensorflow/tfjs-layers');
  if (spec.model === 'resnet-mini') {
    const { buildResNet, resnetConfigs } = await import('../src/models/resnet.js');
    return buildResNet({ ...resnetConfigs['resnet-mini'], inputSize: spec.size, numClasses: spec.classes });
  }
  const { BatchNorm } = await import('../src/models/layers/batch-norm.js');
  return buildMobileNetV2(tfl, BatchNorm, spec.size, spec.classes);
}

/** MobileNetV2 1.0 (Sandler et al. 2018), tfjs-layers + plumage's BatchNorm, random weights; same layer list as bench/pytorch/resnet_mini.py. */
function buildMobileNetV2(tfl: typeof import('@tensorflow/tfjs-layers'), BatchNorm: typeof import('../src/models/layers/batch-norm.js').BatchNorm, size: number, classes: number) {
  type ST = import('@tensorflow/tfjs-layers').SymbolicTensor;
  let id = 0;
  const bn = (x: ST) => new BatchNorm({ momentum: 0.9, epsilon: 1e-5, name: `bn${id++}` }).apply(x) as ST;
  // Batch norm + ReLU6 as plumage's fused layer (one kernel forward and one backward, one saved activation): the
  // same function as BatchNorm2d + ReLU6(inplace) in the PyTorch reference.
  const bnRelu6 = (x: ST) => new BatchNorm({ momentum: 0.9, epsilon: 1e-5, activation: 'relu6', name: `bn${id++}` }).apply(x) as ST;
  const conv = (x: ST, filters: number, k: number, s: number) =>
    tfl.layers.conv2d({ filters, kernelSize: k, strides: s, padding: 'same', useBias: false, name: `conv${id++}` }).apply(x) as ST;
  const dw = (x: ST, s: number) =>
    tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: s, padding: 'same', useBias: false, name: `dw${id++}` }).apply(x) as ST;
  const input = tfl.input({ shape: [size, size, 3] });
  let x = bnRelu6(conv(input, 32, 3, 2));
  let cin = 32;
  const cfg: [number, number, number, number][] = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
  ];
  for (const [t, c, n, s] of cfg) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      let y = x;
      if (t !== 1) y = bnRelu6(conv(y, cin * t, 1, 1));
      y = bnRelu6(dw(y, stride));
      y = bn(conv(y, c, 1, 1));
      x = stride === 1 && cin === c ? (tfl.layers.add({ name: `add${id++}` }).apply([x, y]) as ST) : y;
      cin = c;
    }
  }
  x = bnRelu6(conv(x, 1280, 1, 1));
  x = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as ST;
  x = tfl.layers.dropout({ rate: 0.2, name: 'drop' }).apply(x) as ST;
  const logits = tfl.layers.dense({ units: classes, name: 'head' }).apply(x) as ST;
  return tfl.model({ inputs: input, outputs: logits, name: 'mobilenetv2' });
}

/** PLUMAGE_TORCH_PROFILE=1: per-kernel wall ms per step on the torch backend (forward and gradient kernels alike). */
const profiling = process.env.PLUMAGE_TORCH_PROFILE === '1';
async function profileSnapshot(steps = 1): Promise<Record<string, { ms_per_step: number; calls_per_step: number }>> {
  if (!profiling) return {};
  const { profile } = (await import('@plumage/tfjs-backend-torch')) as { profile: Map<string, { ms: number; calls: number }> };
  const rows = [...profile.entries()].sort((a, b) => b[1].ms - a[1].ms);
  profile.clear();
  return Object.fromEntries(rows.map(([k, v]) => [k, { ms_per_step: Number((v.ms / steps).toFixed(1)), calls_per_step: Number((v.calls / steps).toFixed(1)) }]));
}

function mem() {
  return { rss_mb: process.memoryUsage().rss / 2 ** 20, max_rss_mb: process.resourceUsage().maxRSS / 1024 };
}

async function worker(backend: string, spec: Spec, rssSteps: number): Promise<Measured> {
  const out: Measured = { backend, model: spec.model, batch: spec.batch, size: spec.size };
  const { selectBackend } = await import('../src/runtime/backend.js');
  const tf = await import('@tensorflow/tfjs-core');
  out.backend = await selectBackend(backend as 'torch', () => {});
  if (out.backend === 'torch') {
    const torch = (await import('@plumage/tfjs-backend-torch')) as { getNumThreads(): number };
    out.threads = torch.getNumThreads();
    out.omp_wait_policy = process.env.OMP_WAIT_POLICY;
    out.cache_mb = Number(process.env.PLUMAGE_TORCH_CACHE_MB);
  }
  const model = await buildModel(spec);
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomUniform([spec.batch, spec.size, spec.size, 3]);
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: spec.batch }, (_, i) => i % spec.classes), 'int32'), spec.classes);
  const trainStep = () => {
    // model.fit's per-batch work: forward in training mode, loss, gradients, Adam update.
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as import('@tensorflow/tfjs-core').Tensor) as import('@tensorflow/tfjs-core').Scalar, true);
    const v = loss!.dataSync()[0]!;
    loss!.dispose();
    return v;
  };
  try {
    if (rssSteps > 0) {
      const samples: Record<string, unknown>[] = [];
      const t0 = performance.now();
      for (let i = 1; i <= rssSteps; i++) {
        const loss = trainStep();
        if (i === 1 || i === Math.floor(rssSteps / 2) || i === rssSteps) {
          samples.push({ step: i, loss, num_tensors: tf.memory().numTensors, seconds: (performance.now() - t0) / 1000, ...mem() });
        }
      }
      out.rss_steps = rssSteps;
      out.rss_samples = samples;
      return out;
    }
    let t0 = 0;
    let c0 = process.cpuUsage();
    for (let i = 0; i < spec.warmup + spec.steps; i++) {
      if (i === spec.warmup) {
        t0 = performance.now();
        c0 = process.cpuUsage();
        await profileSnapshot(); // clears the warm-up steps' counts
      }
      trainStep();
    }
    if (profiling) out.train_profile = await profileSnapshot(spec.steps);
    out.train_step_s = (performance.now() - t0) / 1000 / spec.steps;
    const cu = process.cpuUsage(c0);
    out.train_step_cpu_s = (cu.user + cu.system) / 1e6 / spec.steps;
    out.train_images_per_s = spec.batch / out.train_step_s;
  } catch (err) {
    out.error = `training failed: ${(err as Error).message.split('\n')[0]}`;
  }
  try {
    // Inference runs what plumage's predictor runs: the model with its batch norms folded into the convolutions
    // (PLUMAGE_FOLD_BN=0: the training graph as it is, for A/B measurements).
    const { foldBatchNorm } = await import('../src/models/fold-batch-norm.js');
    const inferModel = process.env.PLUMAGE_FOLD_BN === '0' ? model : foldBatchNorm(model);
    out.infer_layers = inferModel.layers.length;
    const infer = () => {
      const p = inferModel.predict(x) as import('@tensorflow/tfjs-core').Tensor;
      p.dataSync();
      p.dispose();
    };
    for (let i = 0; i < spec.warmup; i++) infer();
    await profileSnapshot();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < spec.inferSteps; i++) infer();
    if (profiling) out.infer_profile = await profileSnapshot(spec.inferSteps);
    out.infer_step_s = (performance.now() - t0) / 1000 / spec.inferSteps;
    const cu = process.cpuUsage(c0);
    out.infer_step_cpu_s = (cu.user + cu.system) / 1e6 / spec.inferSteps;
    out.infer_images_per_s = spec.batch / out.infer_step_s;
  } catch (err) {
    out.error = `${out.error ? out.error + '; ' : ''}inference failed: ${(err as Error).message.split('\n')[0]}`;
  }
  Object.assign(out, mem());
  return out;
}

// ------------------------------------------------------------------------------------------------ driver side
const loadSamples: number[] = [];
function sampleLoad() {
  loadSamples.push(os.loadavg()[0]!);
}

function runNode(backend: string, spec: Spec, threads: number, rssSteps = 0, timeoutS = 900): Measured {
  sampleLoad();
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', backend, JSON.stringify(spec), String(rssSteps)], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, PLUMAGE_THREADS: String(threads), TF_CPP_MIN_LOG_LEVEL: '3' },
    timeout: timeoutS * 1000,
    maxBuffer: 64 << 20,
  });
  sampleLoad();
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Measured;
  } catch {
    const why = r.error ? String(r.error.message) : (r.stderr || '').trim().split('\n').slice(-3).join(' | ');
    return { backend, model: spec.model, batch: spec.batch, size: spec.size, error: `worker failed (status ${r.status}): ${why.slice(0, 400)}` };
  }
}

/**
 * PyTorch as users run it (NCHW, libgomp's default spin-waiting), with OMP_WAIT_POLICY=PASSIVE (what the torch package
 * sets by default) and with channels_last model and input (PASSIVE): on this machine's Debian build NCHW convolutions
 * are several times slower than channels_last ones. Ratios use the best of the three per metric, so they never flatter
 * the torch backend.
 */
function runPyTorchBest(spec: Spec, threads: number): Measured {
  const variants: Record<string, Measured> = {
    omp_default: runPyTorch(spec, threads, {}),
    omp_passive: runPyTorch(spec, threads, { OMP_WAIT_POLICY: 'PASSIVE' }),
    channels_last_passive: runPyTorch(spec, threads, { OMP_WAIT_POLICY: 'PASSIVE' }, ['--channels-last']),
  };
  const ok = Object.entries(variants).filter(([, m]) => !m.error);
  if (ok.length === 0) return { ...variants.omp_default!, runs: variants };
  const best = (k: string, higher: boolean) => {
    const sorted = ok.filter(([, m]) => typeof m[k] === 'number').sort((a, b) => (higher ? (b[1][k] as number) - (a[1][k] as number) : (a[1][k] as number) - (b[1][k] as number)));
    return sorted[0] ? { value: sorted[0][1][k] as number, variant: sorted[0][0] } : { value: undefined, variant: undefined };
  };
  const tr = best('train_images_per_s', true);
  const inf = best('infer_images_per_s', true);
  return {
    ...ok[0]![1],
    train_images_per_s: tr.value,
    infer_images_per_s: inf.value,
    train_step_cpu_s: best('train_step_cpu_s', false).value,
    infer_step_cpu_s: best('infer_step_cpu_s', false).value,
    max_rss_mb: best('max_rss_mb', false).value,
    selection: `best of ${ok.length} variants per metric (train: ${tr.variant}, infer: ${inf.variant})`,
    runs: variants,
  };
}

function runPyTorch(spec: Spec, threads: number, env: Record<string, string>, extra: string[] = [], timeoutS = 900): Measured {
  sampleLoad();
  const python = process.env.PLUMAGE_PYTHON ?? '/usr/bin/python3';
  const args = [
    path.join(root, 'bench/pytorch/resnet_mini.py'),
    '--model', spec.model,
    '--batch', String(spec.batch),
    '--size', String(spec.size),
    '--classes', String(spec.classes),
    '--threads', String(threads),
    '--warmup', String(spec.warmup),
    '--steps', String(spec.steps),
    '--infer-steps', String(spec.inferSteps),
    ...extra,
  ];
  const r = spawnSync(python, args, { cwd: root, encoding: 'utf8', timeout: timeoutS * 1000, env: { ...process.env, ...env } });
  sampleLoad();
  try {
    const j = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
    return { backend: 'pytorch', ...(j as object), model: spec.model, batch: spec.batch, size: spec.size } as Measured;
  } catch {
    return { backend: 'pytorch', model: spec.model, batch: spec.batch, size: spec.size, error: `python failed (status ${r.status}): ${(r.stderr || String(r.error ?? '')).trim().split('\n').slice(-2).join(' | ').slice(0, 400)}` };
  }
}

// ------------------------------------------------------------------------------------------------ ONNX Runtime
/** The PyTorch reference model exported as a user would (torch.onnx.export, opset 13), cached per model under bench/results/.cache. */
function exportOnnx(spec: Spec): string | { error: string } {
  const dir = path.join(root, 'bench/results/.cache');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${spec.model}-${spec.size}-b${spec.batch}-c${spec.classes}.onnx`);
  if (existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.tmp`;
  const python = process.env.PLUMAGE_PYTHON ?? '/usr/bin/python3';
  const r = spawnSync(python, [path.join(root, 'bench/pytorch/resnet_mini.py'), '--model', spec.model, '--batch', String(spec.batch), '--size', String(spec.size), '--classes', String(spec.classes), '--export-onnx', tmp], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0 || !existsSync(tmp)) return { error: `torch.onnx.export failed (status ${r.status}): ${(r.stderr || String(r.error ?? '')).trim().split('\n').slice(-2).join(' | ').slice(0, 400)}` };
  renameSync(tmp, file);
  return file;
}

/** Worker: ONNX Runtime (onnxruntime-node, CPU provider) on an exported model; intra-op threads = `threads`, graph optimisation "all". */
async function ortWorker(file: string, spec: Spec, threads: number): Promise<Measured> {
  const out: Measured = { backend: 'onnxruntime', model: spec.model, batch: spec.batch, size: spec.size, threads };
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
  const data = new Float32Array(spec.batch * 3 * spec.size * spec.size).map(() => Math.random());
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', data, [spec.batch, 3, spec.size, spec.size]) };
  for (let i = 0; i < spec.warmup; i++) await session.run(feeds);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < spec.inferSteps; i++) await session.run(feeds);
  out.infer_step_s = (performance.now() - t0) / 1000 / spec.inferSteps;
  const cu = process.cpuUsage(c0);
  out.infer_step_cpu_s = (cu.user + cu.system) / 1e6 / spec.inferSteps;
  out.infer_images_per_s = spec.batch / out.infer_step_s;
  out.ort_version = ort.env.versions?.common;
  Object.assign(out, mem());
  return out;
}

function runOrt(spec: Spec, threads: number, timeoutS = 600): Measured {
  const file = exportOnnx(spec);
  if (typeof file !== 'string') return { backend: 'onnxruntime', model: spec.model, batch: spec.batch, size: spec.size, error: file.error };
  sampleLoad();
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--ort-worker', file, JSON.stringify(spec), String(threads)], { cwd: root, encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 64 << 20 });
  sampleLoad();
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Measured;
  } catch {
    const why = r.error ? String(r.error.message) : (r.stderr || '').trim().split('\n').slice(-3).join(' | ');
    return { backend: 'onnxruntime', model: spec.model, batch: spec.batch, size: spec.size, error: `ort worker failed (status ${r.status}): ${why.slice(0, 400)}` };
  }
}

// ------------------------------------------------------------------------------------------------ statistics
const r3 = (v: number) => Number(v.toFixed(3));
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
/** median / min / max of the finite values, or null when there are none. */
function stats(xs: (number | undefined | null)[]) {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0);
  return v.length ? { median: r3(median(v)), min: r3(Math.min(...v)), max: r3(Math.max(...v)), n: v.length } : null;
}
const ratio = (a?: number | null, b?: number | null) => (a && b ? a / b : undefined);

type Framework = 'torch' | 'pytorch' | 'onnxruntime';
interface Round {
  round: number;
  load_before: number;
  load_after: number;
  runs: Record<ModelName, Partial<Record<Framework, Measured>>>;
}
const METRICS = ['train_images_per_s', 'infer_images_per_s', 'train_step_cpu_s', 'infer_step_cpu_s', 'max_rss_mb'] as const;

/** Per framework and metric: median, min and max over the rounds. */
function summarise(rounds: Round[], model: ModelName) {
  const out: Record<string, Record<string, ReturnType<typeof stats>>> = {};
  for (const fw of ['torch', 'pytorch', 'onnxruntime'] as Framework[]) {
    const runs = rounds.map((r) => r.runs[model][fw]).filter((m): m is Measured => !!m && !m.error);
    if (runs.length === 0) continue;
    out[fw] = Object.fromEntries(METRICS.map((k) => [k, stats(runs.map((m) => m[k] as number | undefined))]).filter(([, v]) => v));
  }
  return out;
}

/** Per-round ratios (torch over the other framework), then their median / min / max. */
function ratioStats(rounds: Round[], model: ModelName, key: (typeof METRICS)[number], other: Framework, invert = false) {
  return stats(
    rounds.map((r) => {
      const t = r.runs[model].torch;
      const o = r.runs[model][other];
      if (!t || !o || t.error || o.error) return undefined;
      return invert ? ratio(o[key] as number, t[key] as number) : ratio(t[key] as number, o[key] as number);
    }),
  );
}

async function main() {
  const quick = flag('--quick');
  const threads = Number(opt('--threads', '2'));
  const t0 = Date.now();
  const specs: Record<ModelName, Spec> = {
    'resnet-mini': { model: 'resnet-mini', batch: 64, size: 64, classes: 25, warmup: quick ? 1 : 2, steps: quick ? 2 : 4, inferSteps: quick ? 2 : 4 },
    mobilenetv2: { model: 'mobilenetv2', batch: 32, size: 224, classes: 1000, warmup: 1, steps: quick ? 1 : 2, inferSteps: quick ? 1 : 2 },
  };
  const rssSpec: Spec = { ...specs['resnet-mini'], batch: Number(opt('--rss-batch', '2')) };
  const rssSteps = Number(opt('--rss-steps', quick ? '60' : '500'));
  const log = (m: string) => console.error(`[bench:speed ${((Date.now() - t0) / 1000).toFixed(0)}s] ${m}`);
  const models = (opt('--models', 'resnet-mini,mobilenetv2').split(',') as ModelName[]).filter((m) => m in specs);
  const skipOrt = flag('--skip-ort');

  // Interleaved rounds: in each, every model on torch, PyTorch and ONNX Runtime one after the other, so background
  // load hits all of them alike; ratios are computed per round and their median reported.
  const nRounds = Number(opt('--rounds', quick ? '1' : '5'));
  const rounds: Round[] = [];
  for (let r = 1; r <= nRounds; r++) {
    const round: Round = { round: r, load_before: r3(os.loadavg()[0]!), load_after: 0, runs: { 'resnet-mini': {}, mobilenetv2: {} } };
    for (const model of models) {
      const spec = specs[model];
      log(`round ${r}/${nRounds} ${model}: torch`);
      round.runs[model].torch = runNode('torch', spec, threads);
      log(`round ${r}/${nRounds} ${model}: pytorch`);
      round.runs[model].pytorch = runPyTorchBest(spec, threads);
      if (!skipOrt) {
        log(`round ${r}/${nRounds} ${model}: onnxruntime`);
        round.runs[model].onnxruntime = runOrt(spec, threads);
      }
      const m = round.runs[model];
      log(
        `  ${model}: train torch ${m.torch?.train_images_per_s?.toFixed(1)} / pytorch ${m.pytorch?.train_images_per_s?.toFixed(1)} img/s; ` +
          `infer torch ${m.torch?.infer_images_per_s?.toFixed(1)} / pytorch ${m.pytorch?.infer_images_per_s?.toFixed(1)} / ort ${m.onnxruntime?.infer_images_per_s?.toFixed(1)}; ` +
          `peak RSS ${m.torch?.max_rss_mb?.toFixed(0)} / ${m.pytorch?.max_rss_mb?.toFixed(0)} MB` +
          [m.torch?.error, m.pytorch?.error, m.onnxruntime?.error].filter(Boolean).map((e) => `; ERROR ${e}`).join(''),
      );
    }
    round.load_after = r3(os.loadavg()[0]!);
    rounds.push(round);
  }
  let rWasm: Measured | null = null;
  if (!flag('--skip-wasm')) {
    log('resnet-mini: wasm');
    rWasm = runNode('wasm', { ...specs['resnet-mini'], warmup: 1, steps: quick ? 1 : 2, inferSteps: quick ? 1 : 2 }, threads, 0, 900);
    log(JSON.stringify(rWasm));
  }
  log(`resnet-mini RSS over ${rssSteps} training steps on torch (batch ${rssSpec.batch})`);
  // One libtorch thread here: RSS does not depend on it, and on a contended machine it keeps the 500 steps short.
  const rss = runNode('torch', rssSpec, Number(opt('--rss-threads', '1')), rssSteps, 1200);
  log(JSON.stringify(rss));

  const samples = (rss.rss_samples as { max_rss_mb: number; rss_mb: number }[] | undefined) ?? [];
  const rssFlat = samples.length === 3 ? samples[2]!.max_rss_mb <= samples[1]!.max_rss_mb * 1.05 + 16 && samples[2]!.rss_mb <= samples[1]!.rss_mb * 1.05 + 16 : null;
  const cores = os.cpus().length;
  const maxLoad = Math.max(...loadSamples);
  const perModel = (model: ModelName) => ({
    train: ratioStats(rounds, model, 'train_images_per_s', 'pytorch'),
    infer: ratioStats(rounds, model, 'infer_images_per_s', 'pytorch'),
    train_cpu_time: ratioStats(rounds, model, 'train_step_cpu_s', 'pytorch', true),
    infer_cpu_time: ratioStats(rounds, model, 'infer_step_cpu_s', 'pytorch', true),
    rss: ratioStats(rounds, model, 'max_rss_mb', 'pytorch'),
    infer_vs_ort: ratioStats(rounds, model, 'infer_images_per_s', 'onnxruntime'),
  });
  const res = perModel('resnet-mini');
  const mnet = perModel('mobilenetv2');
  const ortMed = [res.infer_vs_ort?.median, mnet.infer_vs_ort?.median].filter((v): v is number => typeof v === 'number');
  const result = {
    generated: new Date().toISOString(),
    command: `npm run bench:speed${argv.length ? ' -- ' + argv.join(' ') : ''}`,
    /** Medians over the rounds of per-round ratios; torch backend over PyTorch (rss: torch peak / PyTorch peak, lower is better) or over ONNX Runtime. */
    ratios: {
      train: res.train?.median ?? null,
      infer: res.infer?.median ?? null,
      rss: res.rss?.median ?? null,
      train_mobilenetv2: mnet.train?.median ?? null,
      infer_mobilenetv2: mnet.infer?.median ?? null,
      rss_mobilenetv2: mnet.rss?.median ?? null,
      infer_vs_ort_resnet: res.infer_vs_ort?.median ?? null,
      infer_vs_ort_mobilenetv2: mnet.infer_vs_ort?.median ?? null,
      /** the slower of the two models */
      infer_vs_ort: ortMed.length ? Math.min(...ortMed) : null,
    },
    targets: { train: '>= 1.3', train_mobilenetv2: '>= 1.3', rss_mobilenetv2: '<= 1.0', infer_vs_ort: '>= 0.8' },
    ratio_spread: { 'resnet-mini': res, mobilenetv2: mnet },
    figures: Object.fromEntries(models.map((m) => [m, summarise(rounds, m)])),
    specs: Object.fromEntries(models.map((m) => [m, specs[m]])),
    wasm: rWasm,
    rounds,
    rss: { backend: 'torch', model: 'resnet-mini', batch: rssSpec.batch, threads: Number(opt('--rss-threads', '1')), steps: rssSteps, samples, flat: rssFlat, error: rss.error ?? null },
    machine: {
      cpu: os.cpus()[0]?.model,
      cores,
      mem_gb: Number((os.totalmem() / 2 ** 30).toFixed(1)),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      threads,
      load_avg_1m: { min: Math.min(...loadSamples), max: maxLoad, samples: loadSamples.map((l) => Number(l.toFixed(2))) },
    },
    note:
      maxLoad > cores * 0.75
        ? `Other work loaded the machine during this run (1-minute load average up to ${maxLoad.toFixed(1)} on ${cores} cores): absolute numbers are depressed and noisy; the frameworks ran back to back in each round with the same thread count, so the per-round ratios are the more meaningful figure.`
        : 'Machine was not noticeably loaded by other work during the run.',
    seconds: Math.round((Date.now() - t0) / 1000),
  };
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const outFile = path.join(root, 'bench/results', opt('--out', 'speed') + '.json');
  writeFileSync(`${outFile}.tmp`, JSON.stringify(result, null, 2) + '\n');
  renameSync(`${outFile}.tmp`, outFile);
  console.log(JSON.stringify({ ratios: result.ratios, note: result.note, seconds: result.seconds }));
}

if (argv[0] === '--ort-worker') {
  ortWorker(argv[1]!, JSON.parse(argv[2]!) as Spec, Number(argv[3] ?? '2')).then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (err) => {
      console.log(JSON.stringify({ backend: 'onnxruntime', error: String((err as Error).message).split('\n')[0] }));
      process.exit(0);
    },
  );
} else if (argv[0] === '--worker') {
  worker(argv[1]!, JSON.parse(argv[2]!) as Spec, Number(argv[3] ?? '0')).then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (err) => {
      console.log(JSON.stringify({ error: String((err as Error).message).split('\n')[0] }));
      process.exit(0);
    },
  );
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
