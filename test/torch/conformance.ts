/**
 * Runs tfjs-core's own test suite (the dist/**\/*_test.js files shipped in its npm package, driven by its jasmine_util)
 * against the 'torch' backend. Only specs registered for the torch test env (describeWithFlags) are counted.
 *
 *   node --import tsx test/torch/conformance.ts [--json] [--filter <substring>] [--report]
 *
 * --report writes bench/results/torch-conformance.md. Exit status 0 when every counted, non-excluded spec passes;
 * 3 when the addon is not built (nothing to test).
 */
import { createRequire } from 'node:module';
import { readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/cjs/api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const req = createRequire(import.meta.url);
const coreDist = path.join(path.dirname(req.resolve('@tensorflow/tfjs-core/package.json')), 'dist');

/** Kernels the torch backend does not implement; specs failing only because of them are excluded. */
export const UNIMPLEMENTED: Record<string, string> = {
  Complex: 'complex64 tensors are out of scope for this backend (not needed by plumage)',
  StringNGrams: 'string ops: the backend keeps numeric tensors in libtorch only',
  StringSplit: 'string ops: the backend keeps numeric tensors in libtorch only',
  StringToHashBucketFast: 'string ops: the backend keeps numeric tensors in libtorch only',
  StaticRegexReplace: 'string ops: the backend keeps numeric tensors in libtorch only',
  SparseFillEmptyRows: 'sparse ops are not used by plumage models',
  SparseReshape: 'sparse ops are not used by plumage models',
  SparseSegmentMean: 'sparse ops are not used by plumage models',
  SparseSegmentSum: 'sparse ops are not used by plumage models',
  SparseToDense: 'sparse ops are not used by plumage models',
  RaggedGather: 'ragged ops are not used by plumage models',
  RaggedRange: 'ragged ops are not used by plumage models',
  RaggedTensorToTensor: 'ragged ops are not used by plumage models',
  Transform: 'detection-style image ops not implemented yet (not used by plumage)',
  NonMaxSuppressionV3: 'detection-style image ops not implemented yet (not used by plumage)',
  NonMaxSuppressionV4: 'detection-style image ops not implemented yet (not used by plumage)',
  NonMaxSuppressionV5: 'detection-style image ops not implemented yet (not used by plumage)',
  Bincount: 'not used by plumage models; not implemented yet',
  DenseBincount: 'not used by plumage models; not implemented yet',
  Unique: 'not used by plumage models; not implemented yet',
  Multinomial: 'not used by plumage models; not implemented yet (tfjs falls back to nothing: sample on the cpu backend)',
  MaxPoolWithArgmax: 'not used by plumage models; not implemented yet',
  Dilation2D: 'not used by plumage models; not implemented yet',
  LRN: 'not used by plumage models (local response normalisation); not implemented yet',
};

/**
 * Excluded specs, each with its reason. `pattern` is tested against the full spec name (RegExp) or matched as a suffix
 * (string); `message` (optional) must match one failure message.
 */
export const EXCLUDES: { pattern: string | RegExp; message?: RegExp; reason: string }[] = [
  {
    pattern: / torch \{\} /,
    message: /dtype string is not supported/,
    reason: 'string tensors are not supported: ATen has no string dtype and the backend keeps every tensor in libtorch',
  },
  {
    pattern: 'conv2dTranspose torch {} input=8x8x8,output=4x4x8,f=8,s=1,inDepth=8,p=same vec4',
    message: /could not create a descriptor for a dilated convolution/,
    reason: "oneDNN (libtorch 1.13's CPU convolution) rejects this degenerate transpose geometry (an 8x8 filter producing a smaller output than its input with 'same' padding); not a shape plumage models use",
  },
  {
    pattern: 'gather torch {} throws when index is out of bound',
    reason: "the backend does throw (ATen: 'index out of range in self') but the spec matches tfjs's exact message text; checking bounds in JS would need a device read per gather",
  },
  {
    pattern: 'maxPool3d torch {} x=[1,3,3,3,1] f=[2,2,2] s=1 p=valid, ignores NaNs',
    reason: 'ATen max pooling propagates NaN (as PyTorch does) where tfjs skips it; masking NaNs would cost two extra passes over every pooled activation',
  },
  {
    pattern: 'maxPool torch {} [x=[3,3,1] f=[2,2] s=1 ignores NaNs',
    reason: 'ATen max pooling propagates NaN (as PyTorch does) where tfjs skips it; masking NaNs would cost two extra passes over every pooled activation',
  },
];

export interface Outcome {
  name: string;
  messages: string[];
}
export interface Summary {
  passed: number;
  failed: Outcome[];
  excluded: { name: string; reason: string }[];
  other: Outcome[];
  /** Specs tfjs itself marks pending (xit). */
  pending: string[];
  total: number;
  files: number;
  loadErrors: { file: string; error: string }[];
  seconds: number;
  /** gradients() calls served by plumage's lean backward pass during the run. */
  leanGradientsCalls?: number;
}

function testFiles(dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) testFiles(p, out);
    else if (f.endsWith('_test.js')) out.push(p);
  }
  return out.sort();
}

/** A spec's failure is excluded when a rule matches; returns the reason. */
function excludedBecause(name: string, messages: string[]): string | null {
  for (const e of EXCLUDES) {
    const nameHit = typeof e.pattern === 'string' ? name.endsWith(e.pattern) : e.pattern.test(name);
    if (nameHit && (!e.message || messages.some((m) => e.message!.test(m)))) return e.reason;
  }
  for (const m of messages) {
    const k = /Kernel '(\w+)' not registered for backend 'torch'/.exec(m);
    if (k && UNIMPLEMENTED[k[1]!]) return `kernel ${k[1]} not implemented: ${UNIMPLEMENTED[k[1]!]}`;
  }
  return null;
}

export async function runTorchConformance(filter?: string): Promise<Summary | null> {
  const t0 = Date.now();
  const torch = (await import('@plumage/tfjs-backend-torch')) as { loadError: Error | null };
  if (torch.loadError) return null;
  register(); // tsx's CJS hook: tfjs-core's dist/*_test.js are ES syntax with extensionless imports
  const Jasmine = req('jasmine') as new (o: object) => {
    env: { configure(c: object): void; addReporter(r: object): void };
    exitOnCompletion: boolean;
    execute(): Promise<unknown>;
  };
  const runner = new Jasmine({});
  runner.exitOnCompletion = false;
  runner.env.configure({ random: false });
  req(path.join(coreDist, 'public/chained_ops/register_all_chained_ops.js'));
  req(path.join(coreDist, 'register_all_gradients.js'));
  req('@tensorflow/tfjs-backend-cpu'); // some specs compare against or move data from 'cpu'
  // plumage's backward pass (src/runtime/lean-gradients.ts), as selectBackend installs it: tfjs's gradient specs then
  // run through it (the engine is one global object shared by every copy of tfjs-core's modules).
  const lean = await import('../../src/runtime/lean-gradients.js');
  lean.installLeanGradients();
  const ju = req(path.join(coreDist, 'jasmine_util.js')) as {
    setTestEnvs(envs: object[]): void;
    setupTestFilters(filters: object[], customInclude: (name: string) => boolean): void;
  };
  ju.setTestEnvs([{ name: 'torch', backendName: 'torch', isDataSync: true }]);
  ju.setupTestFilters([], (name) => !filter || name.includes(filter));
  const summary: Summary = { passed: 0, failed: [], excluded: [], other: [], pending: [], total: 0, files: 0, loadErrors: [], seconds: 0 };
  for (const f of testFiles(coreDist)) {
    try {
      req(f);
      summary.files++;
    } catch (err) {
      summary.loadErrors.push({ file: path.relative(coreDist, f), error: String((err as Error).message).split('\n')[0]! });
    }
  }
  runner.env.addReporter({
    specDone(r: { fullName: string; status: string; failedExpectations: { message: string }[] }) {
      if (!/ torch \{/.test(r.fullName)) return; // not a backend spec
      if (filter && !r.fullName.includes(filter)) return;
      summary.total++;
      const messages = r.failedExpectations.map((e) => e.message.slice(0, 300));
      if (r.status === 'passed') summary.passed++;
      else if (r.status === 'failed') {
        const why = excludedBecause(r.fullName, messages);
        if (why !== null) summary.excluded.push({ name: r.fullName, reason: why });
        else summary.failed.push({ name: r.fullName, messages });
      } else if (r.status === 'pending') summary.pending.push(r.fullName);
      else summary.other.push({ name: r.fullName, messages: [r.status] });
    },
  });
  await runner.execute();
  summary.seconds = (Date.now() - t0) / 1000;
  summary.leanGradientsCalls = lean.leanGradientsCalls();
  return summary;
}

function report(s: Summary): string {
  const byReason = new Map<string, string[]>();
  for (const e of s.excluded) byReason.set(e.reason, [...(byReason.get(e.reason) ?? []), e.name]);
  const lines = [
    '# tfjs-core conformance of the torch backend',
    '',
    `Generated by \`node --import tsx test/torch/conformance.ts --report\` on ${new Date().toISOString()}: tfjs-core ${req('@tensorflow/tfjs-core/package.json').version} dist/**/*_test.js (${s.files} files), test env \`{name: 'torch', backendName: 'torch'}\`. Only specs registered for the backend env (describeWithFlags) are counted.`,
    '',
    '| passed | failed | excluded | pending (xit in tfjs) | other | total |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${s.passed} | ${s.failed.length} | ${s.excluded.length} | ${s.pending.length} | ${s.other.length} | ${s.total} |`,
    '',
    `Run time ${s.seconds.toFixed(0)} s.`,
    '',
    '## Excluded specs (by reason)',
    '',
  ];
  for (const [reason, names] of [...byReason.entries()].sort((p, q) => q[1].length - p[1].length)) {
    lines.push(`- **${names.length}** — ${reason}`);
    for (const n of names.slice(0, 200)) lines.push(`  - \`${n.replace(/`/g, "'")}\``);
  }
  if (s.failed.length) {
    lines.push('', '## Failing specs', '');
    for (const f of s.failed) lines.push(`- \`${f.name.replace(/`/g, "'")}\`: ${f.messages.join(' | ').replace(/\n/g, ' ').slice(0, 300)}`);
  }
  if (s.loadErrors.length) {
    lines.push('', '## Test files that did not load', '');
    for (const l of s.loadErrors) lines.push(`- ${l.file}: ${l.error}`);
  }
  return lines.join('\n') + '\n';
}

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!);
if (isMain) {
  const json = process.argv.includes('--json');
  const fi = process.argv.indexOf('--filter');
  runTorchConformance(fi > 0 ? process.argv[fi + 1] : undefined).then(
    (s) => {
      if (!s) {
        console.log('torch conformance: SKIPPED (addon not built; run npm run build:torch)');
        process.exit(3);
      }
      const log = json ? console.error : console.log;
      for (const f of s.failed) log(`FAILED ${f.name}\n  ${f.messages.join('\n  ')}`);
      for (const o of s.other) log(`${o.messages[0]?.toUpperCase()} ${o.name}`);
      log(`torch conformance: ${s.passed} passed, ${s.failed.length} failed, ${s.excluded.length} excluded, ${s.pending.length} pending, ${s.other.length} other, of ${s.total} specs (${s.seconds.toFixed(1)} s)`);
      if (process.argv.includes('--report')) {
        mkdirSync(path.join(root, 'bench/results'), { recursive: true });
        writeFileSync(path.join(root, 'bench/results/torch-conformance.md'), report(s));
      }
      if (json) console.log(JSON.stringify(s));
      process.exit(s.failed.length === 0 && s.other.length === 0 ? 0 : 1);
    },
    (err) => {
      console.error(err);
      process.exit(2);
    },
  );
}
