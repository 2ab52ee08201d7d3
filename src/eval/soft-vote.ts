/** Weighted average of probability matrices of the same shape (soft vote of views or models). */
export function softVote(probs: Float32Array[], weights?: number[]): Float32Array {
  if (probs.length === 0) throw new Error('softVote: nothing to vote');
  const n = probs[0]!.length;
  const out = new Float32Array(n);
  const w = weights ?? probs.map(() => 1);
  const tot = w.reduce((a, b) => a + b, 0);
  probs.forEach((p, k) => {
    if (p.length !== n) throw new Error('softVote: probability matrices differ in size');
    for (let i = 0; i < n; i++) out[i] += (w[k]! / tot) * p[i]!;
  });
  return out;
}
