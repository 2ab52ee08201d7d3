// Fused gradients for the torch backend. tfjs composes several gradients (batch-norm, relu, relu6,
// square, mean, sum) from generic ops, which costs many passes over large activations. While the
// active backend is 'torch', these gradient functions call single ATen kernels instead; on any other
// backend they defer to tfjs's original gradient, so behaviour elsewhere is unchanged.
import { type GradConfig, type NamedAttrMap, type Tensor, div, engine, getBackend, getGradient, mul, registerGradient, reshape, sum, util, zerosLike } from '@tensorflow/tfjs-core';
import { BACKEND } from './names.js';

type Grads = { [name: string]: () => Tensor };
type Fast = (dy: Tensor, saved: Tensor[], attrs: NamedAttrMap) => Grads | null;

const run = (name: string, inputs: Record<string, Tensor>, attrs: NamedAttrMap = {}) =>
  engine().runKernel(name, inputs as never, attrs) as Tensor | Tensor[];

/** Neighbouring float32 values (for turning tfjs's inclusive bounds into hardtanh_backward's exclusive ones). */
function nextFloat32(v: number, dir: 1 | -1): number {
  const f = new Float32Array([v]);
  const i = new Int32Array(f.buffer);
  if (f[0] === 0) {
    i[0] = 1;
    return dir > 0 ? f[0]! : -f[0]!;
  }
  i[0]! += (f[0]! > 0 ? 1 : -1) * dir;
  return f[0]!;
}

const fast: Record<string, Fast> = {
  // tfjs: dy where min <= x <= max, else 0 (tfjs-layers' ReLU(maxValue) and relu6-style clipping use this).
  ClipByValue: (dy, [x], attrs) =>
    x!.dtype === 'float32'
      ? {
          x: () =>
            run('TorchClipGrad', { dy, x: x! }, { lo: nextFloat32(attrs.clipValueMin as number, -1), hi: nextFloat32(attrs.clipValueMax as number, 1) }) as Tensor,
        }
      : null,
  Relu: (dy, [x]) => (x!.dtype === 'float32' ? { x: () => run('TorchReluGrad', { dy, x: x! }) as Tensor } : null),
  Relu6: (dy, [x]) => (x!.dtype === 'float32' ? { x: () => run('TorchRelu6Grad', { dy, x: x! }) as Tensor } : null),
  Square: (dy, [x]) => (x!.dtype === 'float32' ? { x: () => run('TorchSquareGrad', { dy, x: x! }) as Tensor } : null),
  Mean: (dy, [x], attrs) => (x!.dtype === 'float32' ? { x: () => run('TorchReduceGrad', { dy, x: x! }, { axis: attrs.axis, mean: true }) as Tensor } : null),
  Sum: (dy, [x], attrs) => (x!.dtype === 'float32' ? { x: () => run('TorchReduceGrad', { dy, x: x! }, { axis: attrs.axis, mean: false }) as Tensor } : null),
  FusedBatchNorm: (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved as [Tensor, Tensor, Tensor, Tensor | undefined];
    const c = x.shape[x.rank - 1];
    const rank1 = (t: Tensor | undefined) => t == null || (t.rank === 1 && t.shape[0] === c);
    if (x.rank !== 4 || x.dtype !== 'float32' || !rank1(mean) || !rank1(variance) || !rank1(scale)) return null;
    const inputs: Record<string, Tensor> = { dy, x, mean, variance };
    if (scale) inputs.scale = scale;
    const [dx, dmean, dvar, dscale, doffset] = run('TorchBatchNormGrad', inputs, { varianceEpsilon: attrs.varianceEpsilon }) as Tensor[];
    return { x: () => dx!, mean: () => dmean!, variance: () => dvar!, scale: () => dscale!, offset: () => doffset! };
  },
};


/** Gradients of the fused gradient kernels themselves (for higher-order gradients). */
function registerSecondOrder(): void {
  registerGradient({
    kernelName: 'TorchSquareGrad',
    inputsToSave: ['dy', 'x'],
    gradFunc: (g, [dy, x]) => ({ dy: () => mul(g as Tensor, mul(x!, 2)), x: () => mul(g as Tensor, mul(dy!, 2)) }),
  });
  for (const k of ['TorchReluGrad', 'TorchRelu6Grad', 'TorchClipGrad']) {
    registerGradient({
      kernelName: k,
      inputsToSave: ['x'],
      gradFunc: (g, [x], attrs) => ({ dy: () => run(k, { dy: g as Tensor, x: x! }, attrs) as Tensor, x: () => zerosLike(x!) }),
    });
  }
  registerGradient({
    kernelName: 'TorchReduceGrad',
    inputsToSave: ['dy', 'x'],
    gradFunc: (g, [dy, x], attrs) => {
      const axes = util.parseAxisParam(attrs.axis as number[], x!.shape);
      const n = attrs.mean ? axes.reduce((p, a) => p * x!.shape[a]!, 1) : 1;
      return { dy: () => reshape(div(sum(g as Tensor, axes), n), dy!.shape), x: () => zerosLike(x!) };
    },
  });
}

/**
 * Gradient of TorchBatchNormTraining. Only `y` carries a gradient: the batch statistics it also returns feed the moving
 * averages of plumage's BatchNorm layer, outside the loss (a loss that used them directly would need their terms too).
 */
let batchNormTrainingRegistered = false;
export function registerBatchNormTraining(): void {
  if (batchNormTrainingRegistered) return;
  batchNormTrainingRegistered = true;
  registerGradient({
    kernelName: 'TorchGelu',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => run('TorchGeluGrad', { dy: dy as Tensor, x: x! }) as Tensor }),
  });
  // LayerNorm: only y carries a gradient (mean and rstd are saved for it).
  registerGradient({
    kernelName: 'TorchLayerNorm',
    inputsToSave: ['x', 'gamma', 'beta'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved) => {
      const [x, gamma, beta, mean, rstd] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
      const dy = Array.isArray(dys) ? dys[0]! : dys;
      const [dx, dgamma, dbeta] = run('TorchLayerNormGrad', { dy, x, gamma, beta, mean, rstd }) as Tensor[];
      return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
    },
  });
  registerGradient({
    kernelName: 'TorchBatchNormTraining',
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, false, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, scale, mean, invstd] = saved as [Tensor, Tensor | undefined, Tensor, Tensor];
      const dy = Array.isArray(dys) ? dys[0]! : dys;
      const inputs: Record<string, Tensor> = { dy, x, mean, invstd };
      if (scale) inputs.scale = scale;
      const [dx, dscale, doffset] = run('TorchBatchNormTrainingGrad', inputs, { varianceEpsilon: attrs.varianceEpsilon }) as Tensor[];
      return { x: () => dx!, scale: () => dscale!, offset: () => doffset! };
    },
  });
  // Batch norm + ReLU/ReLU6 in one kernel: saves the activated output (the next layer keeps it anyway) instead of the
  // batch norm's output, and applies the activation's mask inside the gradient kernel.
  registerGradient({
    kernelName: 'TorchBatchNormActTraining',
    inputsToSave: ['x', 'scale'],
    outputsToSave: [true, true, false, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, scale, z, mean, invstd] = saved as [Tensor, Tensor | undefined, Tensor, Tensor, Tensor];
      const dy = Array.isArray(dys) ? dys[0]! : dys;
      const inputs: Record<string, Tensor> = { dy, x, z, mean, invstd };
      if (scale) inputs.scale = scale;
      const [dx, dscale, doffset] = run('TorchBatchNormActTrainingGrad', inputs, { varianceEpsilon: attrs.varianceEpsilon, activation: attrs.activation }) as Tensor[];
      return { x: () => dx!, scale: () => dscale!, offset: () => doffset! };
    },
  });
}

const WRAPPED = Symbol('plumage-torch-fused');
let secondOrder = false;

/**
 * Wraps tfjs's registered gradients with torch fast paths. Idempotent and cheap, so the torch kernels call it on every
 * run: tfjs's gradients may be registered (or registered again) after the backend was created — a program that
 * selected 'torch' before importing tfjs-layers trained with tfjs's composed Relu/Relu6/clip gradients (Step, Select,
 * LogicalAnd: 45% of a MobileNetV2 training step in bench:speed's worker).
 */
export function installFusedGradients(): void {
  const registry = (globalThis as { _tfGlobals?: Map<string, unknown> })._tfGlobals?.get('gradRegistry') as Map<string, GradConfig & { [WRAPPED]?: true }> | undefined;
  if (!registry) return;
  for (const [kernelName, f] of Object.entries(fast)) {
    const orig = registry.get(kernelName);
    if (!orig || orig[WRAPPED]) continue;
    registry.set(kernelName, {
      ...orig,
      [WRAPPED]: true,
      gradFunc: (dy, saved, attrs) => {
        if (getBackend() === BACKEND && !Array.isArray(dy)) {
          const g = f(dy, saved, attrs);
          if (g) return g;
        }
        return orig.gradFunc(dy, saved, attrs);
      },
    });
  }
  if (!secondOrder) {
    registerSecondOrder();
    secondOrder = true;
  }
}
