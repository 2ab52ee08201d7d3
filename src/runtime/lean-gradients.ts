/**
 * Backpropagation that frees memory as it goes, installed into tfjs's engine in place of `Engine.gradients`.
 *
 * tfjs's own backward pass keeps every gradient it computes, and every tensor an op saved for its gradient, until the
 * whole pass has finished: peak memory is then about the forward activations plus a gradient for each of them. Here,
 * once a tape node's input gradients are computed, the gradients of its outputs and the tensors it saved are disposed
 * (unless something still refers to the same tensor object), as PyTorch's autograd releases them. Gradient values,
 * errors and the tensors returned are the same as tfjs's (test/runtime/lean-gradients.test.ts).
 *
 * Higher-order gradients (a gradients() call inside another one) keep tfjs's behaviour. PLUMAGE_LEAN_GRADIENTS=0
 * leaves tfjs's engine untouched (for A/B measurements).
 */
import * as tf from '@tensorflow/tfjs-core';

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string | (() => T), f?: () => T): T;
  gradients: GradientsFn;
}
type GradientsFn = (f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor | null, allowNoGradients?: boolean) => { value: tf.Tensor; grads: tf.Tensor[] };

/** The tape nodes on a path from one of `xs` to `y`, inputs pruned to those that depend on `xs` (as tfjs's tape.ts). */
export function nodesFromXsToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      nodesFromX.add(node.id);
      for (const o of node.outputs) fromX.add(o.id);
    }
  }
  const toY = new Set([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      nodesToY.add(node.id);
      for (const t of Object.values(node.inputs)) toY.add(t.id);
    }
  }
  return tape
    .filter((n) => nodesFromX.has(n.id) && nodesToY.has(n.id))
    .map((n) => ({ ...n, inputs: Object.fromEntries(Object.entries(n.inputs).filter(([, t]) => fromX.has(t.id))) }));
}

/** Gradient map from tensor id to its accumulated gradient, counting how often each tensor object is referenced. */
class GradientMap {
  private readonly byId = new Map<number, tf.Tensor>();
  private readonly refs = new Map<tf.Tensor, number>();
  get(id: number): tf.Tensor | undefined {
    return this.byId.get(id);
  }
  set(id: number, t: tf.Tensor): void {
    this.delete(id);
    this.byId.set(id, t);
    this.refs.set(t, (this.refs.get(t) ?? 0) + 1);
  }
  delete(id: number): void {
    const old = this.byId.get(id);
    if (old === undefined) return;
    this.byId.delete(id);
    const n = (this.refs.get(old) ?? 1) - 1;
    if (n === 0) this.refs.delete(old);
    else this.refs.set(old, n);
  }
  referenced(t: tf.Tensor): boolean {
    return this.refs.has(t);
  }
}

function backpropagate(grads: GradientMap, tape: TapeNode[], keep: Set<tf.Tensor>, keepIds: Set<number>, tidy: (f: () => tf.Tensor) => tf.Tensor): void {
  const release = (t: tf.Tensor | null | undefined) => {
    if (t && !keep.has(t) && !grads.referenced(t)) t.dispose();
  };
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    const dys = node.outputs.map((o) => grads.get(o.id) ?? null);
    if (node.gradient == null) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    const inputGradients = node.gradient(dys);
    const produced: tf.Tensor[] = [];
    for (const [inputName, x] of Object.entries(node.inputs)) {
      if (!(inputName in inputGradients)) throw new Error(`Cannot backprop through input ${inputName}. Available gradients found: ${Object.keys(inputGradients)}.`);
      const dx = tidy(() => inputGradients[inputName]!());
      if (dx.dtype !== 'float32') throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${inputName} must have 'float32' dtype, but has '${dx.dtype}'`);
      if (!tf.util.arraysEqual(dx.shape, x.shape)) throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${inputName}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
      produced.push(dx);
      const cur = grads.get(x.id);
      if (cur === undefined) grads.set(x.id, dx);
      else {
        grads.set(x.id, tf.add(cur, dx));
        release(cur);
      }
    }
    // This node was the last to need the gradients of its outputs (its consumers came later on the tape) and its
    // saved tensors. `xs` keep their gradients; a tensor object still stored for another id is kept.
    for (const o of node.outputs) if (!keepIds.has(o.id)) {
      const g = grads.get(o.id);
      grads.delete(o.id);
      release(g);
    }
    for (const dx of produced) release(dx);
    for (const s of node.saved ?? []) if (!produced.includes(s) && !grads.referenced(s)) s.dispose();
  }
}

let stock: GradientsFn | null = null;
let calls = 0;

/** How many gradients() calls the lean pass has served in this process (the conformance run reports it). */
export function leanGradientsCalls(): number {
  return calls;
}

function leanGradients(this: EngineInternals, f: () => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor | null = null, allowNoGradients = false): { value: tf.Tensor; grads: tf.Tensor[] } {
  if (this.state.gradientDepth > 0) return stock!.call(this, f, xs, dy, allowNoGradients);
  calls++;
  tf.util.assert(xs.length > 0, () => 'gradients() received an empty list of xs.');
  if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  const y = this.scopedRun(() => this.startTape(), () => this.endTape(), () => this.tidy('forward', f));
  tf.util.assert(y instanceof tf.Tensor, () => 'The result y returned by f() must be a tensor.');
  const tape = this.state.activeTape!;
  const filtered = nodesFromXsToY(tape, xs, y);
  if (!allowNoGradients && filtered.length === 0 && xs.length > 0) {
    throw new Error('Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.');
  }
  return this.tidy('backward', () => {
    const grads = new GradientMap();
    grads.set(y.id, dy ?? tf.ones(y.shape));
    const keep = new Set<tf.Tensor>(dy ? [dy, y] : [y]);
    backpropagate(grads, filtered, keep, new Set(xs.map((x) => x.id)), (g) => this.tidy(g));
    const result = xs.map((x) => grads.get(x.id)) as tf.Tensor[];
    for (const node of tape) for (const t of node.saved ?? []) t.dispose();
    this.state.activeTape = null;
    return { value: y, grads: result } as unknown as tf.TensorContainer;
  }) as unknown as { value: tf.Tensor; grads: tf.Tensor[] };
}

/**
 * Switches the engine's gradients() between the lean pass (`on`) and tfjs's own; returns whether the lean one is on.
 * PLUMAGE_LEAN_GRADIENTS=0 keeps tfjs's.
 */
export function setLeanGradients(on: boolean): boolean {
  const engine = tf.engine() as unknown as EngineInternals;
  stock ??= engine.gradients;
  const lean = on && process.env.PLUMAGE_LEAN_GRADIENTS !== '0';
  engine.gradients = lean ? (leanGradients as GradientsFn) : stock;
  return lean;
}

/** Installs the lean backward pass (see the file comment); returns false when disabled by PLUMAGE_LEAN_GRADIENTS=0. */
export function installLeanGradients(): boolean {
  return setLeanGradients(true);
}
