/**
 * Parity check of the float rebuild against the uint8 reference interpreter on real images.
 */
import * as tf from '@tensorflow/tfjs-core';
import { runReference } from './tflite-reference.js';
import { FrozenForward } from './frozen-forward.js';
import type { FloatGraph } from './tflite-graph.js';

export interface ParityResult {
  images: number;
  /** Fraction of images where the float model's top-1 class equals the reference's (first index among tied maxima). */
  top1Agreement: number;
  /**
   * Fraction of images where the float model's top-1 class is one of the reference's top classes: the reference's
   * uint8 softmax has steps of 1/256, so several classes often share its maximum and its argmax is only the first of them.
   */
  top1AgreementTieAware: number;
  /** Images whose reference output has two or more classes at its maximum. */
  refTiedTop: number;
  /** Mean over images of the max |p_float - p_ref| over classes. */
  meanMaxProbDiff: number;
  /** Max over images and classes of |p_float - p_ref|. */
  maxProbDiff: number;
  /** Mean |p_float - p_ref| of the reference's top-1 class. */
  meanTop1ProbDiff: number;
  /** Mean relative L2 error of the pooled embedding (float vs dequantized uint8). */
  meanEmbeddingRelErr: number;
  /** Fraction of images whose reference top-1 class is among the float model's top 5. */
  refTop1InFloatTop5: number;
  /** Top-1 agreement over the images where the reference's top-1 probability is at least 0.5, and their number. */
  confidentAgreement: number;
  confidentImages: number;
  /** Images whose top-1 differed: index, reference class, float class. */
  disagreements: { index: number; ref: number; float: number }[];
  refSecondsPerImage: number;
}

function argmax(a: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[b]!) b = i;
  return b;
}

/**
 * Runs the uint8 reference once per image (uint8 RGB at the graph's native size, 224x224x3 each) and compares
 * several float variants with it: `false` = plain float rebuild, `true` = float rebuild with activation fake
 * quantization. `onImage` is called after each reference run (progress).
 */
export async function checkParityVariants(
  graph: FloatGraph,
  images: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  onImage: ((i: number) => void) | undefined,
  opts: { accelerate?: boolean; variants: boolean[] },
): Promise<ParityResult[]> {
  const results: ParityResult[] = [];
  const refs: { p: Float32Array; e: Float32Array; img: Uint8Array; ms: number }[] = [];
  let i = 0;
  for await (const img of images) {
    const t0 = performance.now();
    const ref = runReference(graph.tflite, img, [graph.embeddingTensor], opts);
    refs.push({ p: Float32Array.from(ref.output, (v) => ref.outputScale * (v - ref.outputZp)), e: ref.tensors.get(graph.embeddingTensor)!, img, ms: performance.now() - t0 });
    onImage?.(++i);
  }
  for (const fq of opts.variants) results.push(await compareFloat(graph, refs, fq));
  return results;
}

async function compareFloat(graph: FloatGraph, refs: { p: Float32Array; e: Float32Array; img: Uint8Array; ms: number }[], fakeQuant: boolean): Promise<ParityResult> {
  const [h, w] = graph.inputSize;
  const probsFwd = new FrozenForward(graph, { to: 'probs', fakeQuant });
  const embFwd = new FrozenForward(graph, { to: 'embedding', fakeQuant });
  let n = 0;
  let agree = 0;
  let agreeTies = 0;
  let tied = 0;
  let sumMax = 0;
  let maxAll = 0;
  let sumTop1 = 0;
  let sumEmb = 0;
  let refMs = 0;
  let top5 = 0;
  let conf = 0;
  let confAgree = 0;
  const disagreements: ParityResult['disagreements'] = [];
  try {
    for (const { p: refP, e: refE, img, ms } of refs) {
      refMs += ms;
      const x = tf.tidy(() => tf.div(tf.tensor4d(Float32Array.from(img), [1, h, w, 3]), 255) as tf.Tensor4D);
      const p = probsFwd.apply(x);
      const e = embFwd.apply(x);
      const fP = await p.data();
      const fE = await e.data();
      tf.dispose([x, p, e]);
      const rt = argmax(refP);
      const ft = argmax(fP);
      const rank = Array.from(fP).filter((v) => v > fP[rt]!).length;
      if (rank < 5) top5++;
      if (refP[rt]! >= 0.5) {
        conf++;
        if (rt === ft) confAgree++;
      }
      const top = refP[rt]!;
      if (refP.filter((v) => v === top).length > 1) tied++;
      if (refP[ft] === top) agreeTies++;
      if (rt === ft) agree++;
      else disagreements.push({ index: n, ref: rt, float: ft });
      let mx = 0;
      for (let i = 0; i < refP.length; i++) mx = Math.max(mx, Math.abs(refP[i]! - fP[i]!));
      sumMax += mx;
      maxAll = Math.max(maxAll, mx);
      sumTop1 += Math.abs(refP[rt]! - fP[rt]!);
      let num = 0;
      let den = 0;
      for (let i = 0; i < refE.length; i++) {
        num += (refE[i]! - fE[i]!) ** 2;
        den += refE[i]! ** 2;
      }
      sumEmb += Math.sqrt(num / Math.max(den, 1e-12));
      n++;
    }
  } finally {
    probsFwd.dispose();
    embFwd.dispose();
  }
  return {
    images: n,
    top1Agreement: n ? agree / n : 0,
    top1AgreementTieAware: n ? agreeTies / n : 0,
    refTiedTop: tied,
    meanMaxProbDiff: n ? sumMax / n : 0,
    maxProbDiff: maxAll,
    meanTop1ProbDiff: n ? sumTop1 / n : 0,
    meanEmbeddingRelErr: n ? sumEmb / n : 0,
    refTop1InFloatTop5: n ? top5 / n : 0,
    confidentAgreement: conf ? confAgree / conf : 0,
    confidentImages: conf,
    disagreements,
    refSecondsPerImage: n ? refMs / n / 1000 : 0,
  };
}

export interface OpParity {
  name: string;
  kind: string;
  /** Root-mean-square and max |float - reference| of the op's output, in units of its uint8 quantization step. */
  rmseSteps: number;
  maxSteps: number;
}

/**
 * Op-by-op check: feeds each op of the float graph the reference interpreter's (dequantized) inputs and compares
 * its float output with the reference's uint8 output. A correct rebuild stays within about half a step (rounding).
 */
export async function checkOpParity(graph: FloatGraph, image: Uint8Array): Promise<OpParity[]> {
  const ids = graph.nodes.flatMap((n) => [n.output, ...n.inputs]);
  const ref = runReference(graph.tflite, image, ids);
  const out: OpParity[] = [];
  for (const n of graph.nodes) {
    if (n.kind !== 'conv' && n.kind !== 'dwconv' && n.kind !== 'add' && n.kind !== 'dense') continue;
    const y = tf.tidy(() => {
      const inp = (i: number) => {
        const sh = graph.shapes[i]!;
        const d = i === graph.inputTensor ? Float32Array.from(image, (v) => graph.inputScale * (v - graph.inputZeroPoint)) : ref.tensors.get(i)!;
        return tf.tensor(d, sh);
      };
      const act = n.activation === 'linear' ? 'linear' : n.activation;
      const bias = n.bias ? tf.tensor1d(n.bias) : undefined;
      switch (n.kind) {
        case 'add': {
          const s = tf.add(inp(n.inputs[0]!), inp(n.inputs[1]!));
          return act === 'relu6' ? tf.relu6(s) : act === 'relu' ? tf.relu(s) : s;
        }
        case 'conv':
          return tf.fused.conv2d({ x: inp(n.inputs[0]!) as tf.Tensor4D, filter: tf.tensor4d(n.kernel!, n.kernelShape as [number, number, number, number]), strides: n.strides!, pad: n.padding!, bias, activation: act });
        case 'dwconv':
          return tf.fused.depthwiseConv2d({ x: inp(n.inputs[0]!) as tf.Tensor4D, filter: tf.tensor4d(n.kernel!, n.kernelShape as [number, number, number, number]), strides: n.strides!, pad: n.padding!, bias, activation: act });
        default: {
          const x = inp(n.inputs[0]!);
          return tf.fused.matMul({ a: tf.reshape(x, [1, -1]) as tf.Tensor2D, b: tf.tensor2d(n.kernel!, n.kernelShape as [number, number]), bias, activation: act });
        }
      }
    });
    const f = await y.data();
    y.dispose();
    const r = ref.tensors.get(n.output)!;
    const q = graph.tflite.tensors[n.output]!.quantization!.scale[0]!;
    let ss = 0;
    let mx = 0;
    for (let i = 0; i < r.length; i++) {
      const d = Math.abs(r[i]! - f[i]!);
      ss += d * d;
      if (d > mx) mx = d;
    }
    out.push({ name: n.name, kind: n.kind, rmseSteps: Math.sqrt(ss / r.length) / q, maxSteps: mx / q });
  }
  return out;
}
