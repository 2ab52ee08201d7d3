/**
 * bench:hub — the seed's two base models at their native input size, batch 16, random init: plumage (tfjs on the
 * libtorch backend) against PyTorch running the same architectures (bench/pytorch/hf_vit.py, checked against the
 * golden outputs first). Training step = forward + cross-entropy + backward + AdamW; inference = forward only.
 * Each measurement runs in its own process, one after the other (plumage, PyTorch, per model), with the load average
 * sampled around each. Writes bench/results/hub.md and hub.json (`--out NAME`: NAME.md and NAME.json).
 *
 * A worker alone (one model, one process; PLUMAGE_TORCH_PROFILE=shapes adds per-kernel profiles, PLUMAGE_LEAN_GRADIENTS=0
 * measures tfjs's own backward pass): node --import tsx bench/hub.ts --worker '{"model":"beit-base","batch":16,"steps":2,"warmup":1}'
 *
 *   npm run bench:hub [-- --render (rewrite hub.md from hub.json)] [-- --steps 2] [-- --warmup 1] [-- --batch 16] [-- --threads 2] [-- --models swinv2-base,beit-base] [-- --out hub]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
/** Results file name under bench/results (without extension). */
const outName = opt('--out', 'hub');
type ModelName = 'swinv2-base' | 'beit-base';
interface Spec {
  model: ModelName;
  batch: number;
  steps: number;
  warmup: number;
}
type Measured = Record<string, unknown> & { framework: string; model: ModelName; error?: string };

// ------------------------------------------------------------------------------------------------ worker side
async function worker(spec: Spec): Promise<Measured> {
  const tf = await import('@tensorflow/tfjs-core');
  const { selectBackend } = await import('../src/runtime/backend.js');
  const { buildSwinv2, swinv2Presets } = await import('../src/models/swinv2.js');
  const { buildBeit, beitPresets } = await import('../src/models/beit.js');
  const { AdamW } = await import('../src/train/adamw.js');
  const { softCrossEntropy } = await import('../src/train/soft-cross-entropy.js');
  const out: Measured = { framework: 'plumage', model: spec.model, batch: spec.batch, train_steps: spec.steps, infer_steps: spec.steps, warmup: spec.warmup };
  out.backend = await selectBackend('torch', () => {});
  out.threads = ((await import('@plumage/tfjs-backend-torch')) as { getNumThreads(): number }).getNumThreads();
  const cfg = spec.model === 'swinv2-base' ? swinv2Presets['swinv2-base-w16-256'].config : beitPresets['beit-base-p16-224-22k'].config;
  const model = spec.model === 'swinv2-base' ? buildSwinv2(cfg as never, { normalize: 'none' }) : buildBeit(cfg as never, { normalize: 'none' });
  const size = cfg.image_size;
  const classes = cfg.num_labels;
  out.size = size;
  out.params = model.trainableWeights.reduce((a, w) => a + (w.shape as number[]).reduce((p, q) => p * q, 1), 0);
  const vars = model.trainableWeights.map((w) => (w as unknown as { read(): import('@tensorflow/tfjs-core').Variable }).read());
  const optimizer = new AdamW(vars, { lr: 5e-5, weightDecay: 1e-2, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const x = tf.randomUniform([spec.batch, size, size, 3]);
  const y = tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: spec.batch }, (_, i) => i % classes), 'int32'), classes), 'float32');
  const trainStep = () => {
    const { value, grads } = tf.variableGrads(() => softCrossEntropy(y, model.apply(x, { training: true }) as import('@tensorflow/tfjs-core').Tensor), vars);
    optimizer.apply(vars.map((v) => grads[v.name]!));
    value.dataSync();
    value.dispose();
    Object.values(grads).forEach((g) => g.dispose());
  };
  // PLUMAGE_TORCH_PROFILE=1 (or =shapes, split by input shapes): the 30 costliest torch kernels, ms per timed step.
  const { profile } = (await import('@plumage/tfjs-backend-torch')) as unknown as { profile: Map<string, { ms: number; calls: number }> };
  const snapshot = (steps: number) => {
    const rows = [...profile.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30);
    profile.clear();
    return Object.fromEntries(rows.map(([k, v]) => [k, { ms_per_step: Math.round(v.ms / steps), calls_per_step: v.calls / steps }]));
  };
  const profiling = process.env.PLUMAGE_TORCH_PROFILE === '1' || process.env.PLUMAGE_TORCH_PROFILE === 'shapes';
  let t0 = 0;
  for (let i = 0; i < spec.warmup + spec.steps; i++) {
    if (i === spec.warmup) {
      t0 = performance.now();
      profile.clear();
    }
    trainStep();
  }
  if (profiling) out.train_profile = snapshot(spec.steps);
  out.train_step_s = (performance.now() - t0) / 1000 / spec.steps;
  out.train_images_per_s = spec.batch / (out.train_step_s as number);
  out.train_max_rss_mb = process.resourceUsage().maxRSS / 1024;
  const infer = () => {
    const p = model.predict(x) as import('@tensorflow/tfjs-core').Tensor;
    p.dataSync();
    p.dispose();
  };
  for (let i = 0; i < spec.warmup + spec.steps; i++) {
    if (i === spec.warmup) {
      t0 = performance.now();
      profile.clear();
    }
    infer();
  }
  if (profiling) out.infer_profile = snapshot(spec.steps);
  out.infer_step_s = (performance.now() - t0) / 1000 / spec.steps;
  out.infer_images_per_s = spec.batch / (out.infer_step_s as number);
  out.max_rss_mb = process.resourceUsage().maxRSS / 1024;
  return out;
}

// ------------------------------------------------------------------------------------------------ driver side
const loads: number[] = [];
const sampleLoad = () => loads.push(os.loadavg()[0]!);

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, spec: Spec, framework: string): Measured {
  sampleLoad();
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 3600_000, maxBuffer: 64 << 20 });
  sampleLoad();
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Measured;
  } catch {
    return { framework, model: spec.model, error: `failed (status ${r.status ?? r.signal}): ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ').slice(0, 400)}` };
  }
}

async function driver(): Promise<void> {
  const spec = { batch: Number(opt('--batch', '16')), steps: Number(opt('--steps', '2')), warmup: Number(opt('--warmup', '1')) };
  const threads = opt('--threads', '2');
  const models = opt('--models', 'swinv2-base,beit-base').split(',') as ModelName[];
  const python = process.env.PLUMAGE_PYTHON ?? '/usr/bin/python3';
  const command = `npm run bench:hub -- ${argv.join(' ')}`.trim();
  const started = new Date().toISOString();
  const golden = spawnSync(python, ['bench/pytorch/hf_vit.py', '--golden', path.join(root, '..', 'shared', 'golden')], { cwd: root, encoding: 'utf8' });
  const goldenCheck = golden.status === 0 ? (JSON.parse(golden.stdout.trim()) as Record<string, unknown>) : { error: golden.stderr.trim().split('\n').pop() };
  console.error(`golden check of the PyTorch reference: ${JSON.stringify(goldenCheck)}`);
  const results: Measured[] = [];
  if (argv.includes('--render')) {
    // Re-render hub.md from an earlier run's hub.json (no measuring).
    const prev = JSON.parse(readFileSync(path.join(root, 'bench', 'results', `${outName}.json`), 'utf8')) as { command: string; started: string; threads: string; spec: typeof spec; goldenCheck: Record<string, unknown>; results: Measured[] };
    render(prev.command, prev.started, prev.threads, prev.spec, [...new Set(prev.results.map((r) => r.model))], prev.goldenCheck, prev.results);
    return;
  }
  for (const model of models) {
    const s = { ...spec, model };
    for (const framework of ['plumage', 'pytorch']) {
      console.error(`${framework} ${model}: ${spec.warmup} warm-up + ${spec.steps} timed steps each for training and inference, batch ${spec.batch} ...`);
      const m = framework === 'plumage'
        ? run(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', JSON.stringify(s)], { PLUMAGE_THREADS: threads }, s, framework)
        : run(python, ['bench/pytorch/hf_vit.py', '--bench', model, '--batch', String(spec.batch), '--steps', String(spec.steps), '--warmup', String(spec.warmup), '--threads', threads], {}, s, framework);
      m.load_before_after = loads.slice(-2);
      console.error(JSON.stringify(m));
      results.push(m);
    }
  }
  render(command, started, threads, spec, models, goldenCheck, results);
}

function render(command: string, started: string, threads: string, spec: { batch: number; steps: number; warmup: number }, models: ModelName[], goldenCheck: Record<string, unknown>, results: Measured[]): void {
  const f = (v: unknown, d = 2) => (typeof v === 'number' ? v.toFixed(d) : '-');
  const rows = models.flatMap((model) => {
    const p = results.find((r) => r.model === model && r.framework === 'plumage')!;
    const t = results.find((r) => r.model === model && r.framework === 'pytorch')!;
    const ratio = (k: string) => (typeof p[k] === 'number' && typeof t[k] === 'number' ? `**${((p[k] as number) / (t[k] as number)).toFixed(2)}x**` : '-');
    return [
      `| ${model} | ${p.size ?? t.size}px | plumage (torch backend) | ${f(p.params, 0)} | ${f(p.train_step_s)} | ${f(p.train_images_per_s, 4)} | ${f(p.infer_step_s)} | ${f(p.infer_images_per_s, 4)} | ${f(p.max_rss_mb, 0)} | ${(p.load_before_after as number[]).map((l) => l.toFixed(1)).join(' / ')} |${p.error ? ` ${p.error}` : ''}`,
      `| ${model} | ${t.size ?? p.size}px | PyTorch ${t.torch ?? ''} | ${f(t.params, 0)} | ${f(t.train_step_s)} | ${f(t.train_images_per_s, 4)} | ${f(t.infer_step_s)} | ${f(t.infer_images_per_s, 4)} | ${f(t.max_rss_mb, 0)} | ${(t.load_before_after as number[]).map((l) => l.toFixed(1)).join(' / ')} |${t.error ? ` ${t.error}` : ''}`,
      `| ${model} | | plumage / PyTorch | | | ${ratio('train_images_per_s')} | | ${ratio('infer_images_per_s')} | | |`,
    ];
  });
  const md = [
    '# bench:hub — the seed\'s base models, plumage vs PyTorch (same architecture)',
    '',
    `Command: \`${command}\` (started ${started}; ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; threads ${threads} for both).`,
    `Models at their native input size, random init, batch ${spec.batch}: ${spec.warmup} warm-up step(s), then ${spec.steps} timed step(s) each for training (forward + cross-entropy + backward + AdamW) and inference (forward).`,
    'Each row is its own process, run one after the other; "load" is the 1-minute load average before / after that process (the machine is shared, so absolute speeds are depressed; the ratio of two neighbouring rows is the steadier figure).',
    `PyTorch reference (bench/pytorch/hf_vit.py) against the golden outputs, max |logits - golden|: ${JSON.stringify(goldenCheck)}.`,
    '',
    '| model | input | framework | params | train s/step | train img/s | infer s/step | infer img/s | peak RSS MiB | load |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...(spec.warmup === 0 ? ['With 0 warm-up steps the timed step includes one-time costs (first allocations, kernel selection) in both frameworks.'] : []),
    ...(spec.batch !== 16 ? [`Batch ${spec.batch}, not the seed's 16: see docs/hub.md (memory and time on this machine).`] : []),
    '',
  ].join('\n');
  mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(root, 'bench', 'results', `${outName}.md`), md);
  writeFileSync(path.join(root, 'bench', 'results', `${outName}.json`), JSON.stringify({ command, started, threads, spec, goldenCheck, results }, null, 2));
  console.log(md);
}

if (argv[0] === '--worker') {
  worker(JSON.parse(argv[1]!) as Spec)
    .then((m) => console.log(JSON.stringify(m)))
    .catch((err: Error) => {
      console.log(JSON.stringify({ framework: 'plumage', error: err.message.split('\n')[0] }));
      process.exitCode = 1;
    });
} else {
  await driver();
}
