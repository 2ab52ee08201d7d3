/** Pseudo-labels for unlabelled images: the predicted class of every image whose top probability reaches a threshold. */
export interface PseudoLabel {
  /** Index of the image in the unlabelled set. */
  index: number;
  /** Predicted class. */
  label: number;
}

/** probs: [N * numClasses] row-major probabilities. Returns the confident rows, in index order. */
export function selectPseudoLabels(probs: Float32Array, numClasses: number, threshold: number): PseudoLabel[] {
  const out: PseudoLabel[] = [];
  const n = probs.length / numClasses;
  const t = Math.fround(threshold); // compare at the probabilities' float32 precision (0.7 stored is 0.69999999)
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (probs[i * numClasses + c]! > probs[i * numClasses + best]!) best = c;
    if (probs[i * numClasses + best]! >= t) out.push({ index: i, label: best });
  }
  return out;
}
