export interface ClassMetrics {
  name: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
  predicted: number;
}

export interface ClassificationReport {
  macroF1: number;
  accuracy: number;
  /** Classes that take part in the macro average: those present in the labels or the predictions (scikit-learn's rule). */
  averagedOver: number;
  perClass: ClassMetrics[];
  /** confusion[true][pred] */
  confusion: number[][];
}

export function confusionMatrix(yTrue: number[], yPred: number[], numClasses: number): number[][] {
  if (yTrue.length !== yPred.length) throw new Error(`confusionMatrix: ${yTrue.length} labels vs ${yPred.length} predictions`);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  yTrue.forEach((t, i) => {
    const p = yPred[i]!;
    if (t < 0 || t >= numClasses || p < 0 || p >= numClasses) throw new Error(`confusionMatrix: class index out of range at ${i} (${t}, ${p})`);
    m[t]![p]!++;
  });
  return m;
}

/**
 * Macro F1, accuracy and per-class precision/recall/F1 with scikit-learn's conventions:
 * a 0/0 precision or recall counts as 0, and the macro average runs over the classes present in labels or predictions.
 */
export function classificationReport(yTrue: number[], yPred: number[], classNames: string[]): ClassificationReport {
  const n = classNames.length;
  const confusion = confusionMatrix(yTrue, yPred, n);
  const perClass: ClassMetrics[] = classNames.map((name, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c]!, 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { name, precision, recall, f1, support, predicted };
  });
  const present = perClass.filter((c) => c.support > 0 || c.predicted > 0);
  const macroF1 = present.length ? present.reduce((a, c) => a + c.f1, 0) / present.length : 0;
  const correct = yTrue.reduce((a, t, i) => a + (t === yPred[i] ? 1 : 0), 0);
  return { macroF1, accuracy: yTrue.length ? correct / yTrue.length : 0, averagedOver: present.length, perClass, confusion };
}

export function argmaxRows(probs: Float32Array | number[], numClasses: number): number[] {
  const rows = probs.length / numClasses;
  const out = new Array<number>(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (probs[r * numClasses + c]! > probs[r * numClasses + best]!) best = c;
    out[r] = best;
  }
  return out;
}
