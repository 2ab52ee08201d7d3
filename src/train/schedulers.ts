/** ReduceLROnPlateau on a metric to maximise (validation Macro F1): lr *= factor after `patience` epochs without improvement. */
export class ReduceLROnPlateau {
  best = -Infinity;
  badEpochs = 0;
  constructor(readonly factor: number, readonly patience: number, readonly minLr: number, readonly threshold = 1e-4) {}

  /** Returns the lr for the next epoch. */
  step(metric: number, lr: number): number {
    if (metric > this.best + this.threshold) {
      this.best = metric;
      this.badEpochs = 0;
      return lr;
    }
    this.badEpochs++;
    if (this.badEpochs > this.patience) {
      this.badEpochs = 0;
      return Math.max(this.minLr, lr * this.factor);
    }
    return lr;
  }

  state(): { best: number; badEpochs: number } {
    return { best: this.best, badEpochs: this.badEpochs };
  }
  loadState(s: { best: number; badEpochs: number }): void {
    this.best = s.best;
    this.badEpochs = s.badEpochs;
  }
}

/** Linear warmup from 0 then cosine decay to minLr, as a function of the optimizer step. */
export function cosineWithWarmup(step: number, totalSteps: number, warmupSteps: number, baseLr: number, minLr: number): number {
  if (warmupSteps > 0 && step < warmupSteps) return (baseLr * (step + 1)) / warmupSteps;
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  return minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos(Math.PI * progress));
}

/** Early stopping on a metric to maximise: stop after `patience` epochs without an improvement above minDelta. */
export class EarlyStopping {
  best = -Infinity;
  wait = 0;
  constructor(readonly patience: number, readonly minDelta: number) {}
  /** Records an epoch's metric; returns true when training should stop. */
  update(metric: number): boolean {
    if (metric > this.best + this.minDelta) {
      this.best = metric;
      this.wait = 0;
      return false;
    }
    this.wait++;
    return this.wait >= this.patience;
  }
  state(): { best: number; wait: number } {
    return { best: this.best, wait: this.wait };
  }
  loadState(s: { best: number; wait: number }): void {
    this.best = s.best;
    this.wait = s.wait;
  }
}

/** The learning rate of every step: cosine with warmup (per step), plateau (per epoch) or constant. */
export class LrSchedule {
  readonly plateau: ReduceLROnPlateau;
  constructor(readonly cfg: { scheduler: 'cosine' | 'plateau' | 'constant'; lr: number; minLr: number; plateauFactor: number; plateauPatience: number }) {
    this.plateau = new ReduceLROnPlateau(cfg.plateauFactor, cfg.plateauPatience, cfg.minLr);
  }
  /** lr before step `step` of `totalSteps` (warmup for cosine only); `current` is the lr in force. */
  atStep(step: number, totalSteps: number, warmupSteps: number, current: number): number {
    return this.cfg.scheduler === 'cosine' ? cosineWithWarmup(step, totalSteps, warmupSteps, this.cfg.lr, this.cfg.minLr) : current;
  }
  /** lr after an epoch whose validation metric was `metric`. */
  afterEpoch(metric: number, current: number): number {
    return this.cfg.scheduler === 'plateau' ? this.plateau.step(metric, current) : current;
  }
}
