import { Rng } from '../util/random.js';

function byClass(labels: number[]): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  labels.forEach((l, i) => {
    const g = groups.get(l);
    if (g) g.push(i);
    else groups.set(l, [i]);
  });
  return new Map([...groups.entries()].sort((a, b) => a[0] - b[0]));
}

/** Stratified train/validation split: each class contributes round(fraction * count) items (at least 1 when it has 2+). */
export function stratifiedSplit(labels: number[], valFraction: number, seed: number): { train: number[]; val: number[] } {
  if (!(valFraction > 0 && valFraction < 1)) throw new Error(`validation fraction must be in (0, 1), got ${valFraction}`);
  const rng = new Rng(seed);
  const train: number[] = [];
  const val: number[] = [];
  for (const idx of byClass(labels).values()) {
    const shuffled = rng.shuffle([...idx]);
    let nVal = Math.round(shuffled.length * valFraction);
    if (nVal === 0 && shuffled.length >= 2) nVal = 1;
    val.push(...shuffled.slice(0, nVal));
    train.push(...shuffled.slice(nVal));
  }
  return { train: train.sort((a, b) => a - b), val: val.sort((a, b) => a - b) };
}

/** Stratified k-fold: every index lands in exactly one validation fold; class counts per fold differ by at most one. */
export function stratifiedKFold(labels: number[], k: number, seed: number): { train: number[]; val: number[] }[] {
  if (!Number.isInteger(k) || k < 2) throw new Error(`k-fold needs an integer k >= 2, got ${k}`);
  const rng = new Rng(seed);
  const folds: number[][] = Array.from({ length: k }, () => []);
  let offset = 0;
  for (const idx of byClass(labels).values()) {
    rng.shuffle([...idx]).forEach((item, j) => folds[(j + offset) % k]!.push(item));
    offset = (offset + idx.length) % k; // keep fold sizes balanced overall
  }
  return folds.map((val, f) => ({
    val: [...val].sort((a, b) => a - b),
    train: folds.flatMap((other, g) => (g === f ? [] : other)).sort((a, b) => a - b),
  }));
}
