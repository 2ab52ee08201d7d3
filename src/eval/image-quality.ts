/**
 * Full-reference image quality: PSNR and SSIM between two RGB uint8 HWC images of the same size (peak 255).
 * PSNR is over all three channels; SSIM follows Wang et al. 2004 (11x11 Gaussian window, sigma 1.5, K1 0.01,
 * K2 0.03, population covariances), computed per channel over windows that lie fully inside the image and averaged,
 * the convention of scikit-image's `structural_similarity(gaussian_weights=True, use_sample_covariance=False, channel_axis=2)`.
 */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`psnr: size mismatch (${a.length} vs ${b.length})`);
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    se += d * d;
  }
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

const WIN = 11;
const SIGMA = 1.5;
const KERNEL = (() => {
  const k = Array.from({ length: WIN }, (_, i) => Math.exp(-((i - (WIN - 1) / 2) ** 2) / (2 * SIGMA * SIGMA)));
  const s = k.reduce((x, y) => x + y, 0);
  return k.map((v) => v / s);
})();

/** Separable Gaussian filter over the valid region: (h - 10) x (w - 10) output. */
function blur(src: Float64Array, w: number, h: number): Float64Array {
  const ow = w - WIN + 1;
  const oh = h - WIN + 1;
  const tmp = new Float64Array(ow * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < WIN; k++) s += KERNEL[k]! * src[y * w + x + k]!;
      tmp[y * ow + x] = s;
    }
  }
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < WIN; k++) s += KERNEL[k]! * tmp[(y + k) * ow + x]!;
      out[y * ow + x] = s;
    }
  }
  return out;
}

export function ssim(a: Uint8Array, b: Uint8Array, width: number, height: number): number {
  if (a.length !== b.length || a.length !== width * height * 3) throw new Error(`ssim: expected two ${width}x${height} RGB images`);
  if (width < WIN || height < WIN) throw new Error(`ssim: images must be at least ${WIN}x${WIN}`);
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  const n = width * height;
  let total = 0;
  for (let c = 0; c < 3; c++) {
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = a[i * 3 + c]!;
      y[i] = b[i * 3 + c]!;
    }
    const xx = x.map((v) => v * v);
    const yy = y.map((v) => v * v);
    const xy = x.map((v, i) => v * y[i]!);
    const [mx, my, mxx, myy, mxy] = [x, y, xx, yy, xy].map((t) => blur(t, width, height)) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    let sum = 0;
    for (let i = 0; i < mx.length; i++) {
      const ux = mx[i]!;
      const uy = my[i]!;
      const vx = mxx[i]! - ux * ux;
      const vy = myy[i]! - uy * uy;
      const cxy = mxy[i]! - ux * uy;
      sum += ((2 * ux * uy + C1) * (2 * cxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
    }
    total += sum / mx.length;
  }
  return total / 3;
}
