/** Bilinear sampling of an HWC uint8 RGB image into a float32 [0,1] HWC output, from a source rectangle. */
export interface CropBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function sampleCrop(src: Uint8Array, srcSize: number, box: CropBox, out: Float32Array, outOffset: number, outSize: number, flip: boolean): void {
  const sx = box.w / outSize;
  const sy = box.h / outSize;
  const max = srcSize - 1;
  for (let oy = 0; oy < outSize; oy++) {
    let fy = box.y + (oy + 0.5) * sy - 0.5;
    fy = fy < 0 ? 0 : fy > max ? max : fy;
    const y0 = Math.floor(fy);
    const y1 = y0 < max ? y0 + 1 : y0;
    const wy = fy - y0;
    for (let ox = 0; ox < outSize; ox++) {
      let fx = box.x + (ox + 0.5) * sx - 0.5;
      fx = fx < 0 ? 0 : fx > max ? max : fx;
      const x0 = Math.floor(fx);
      const x1 = x0 < max ? x0 + 1 : x0;
      const wx = fx - x0;
      const dstX = flip ? outSize - 1 - ox : ox;
      const o = outOffset + (oy * outSize + dstX) * 3;
      const a = (y0 * srcSize + x0) * 3;
      const b = (y0 * srcSize + x1) * 3;
      const c = (y1 * srcSize + x0) * 3;
      const d = (y1 * srcSize + x1) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = src[a + ch]! + (src[b + ch]! - src[a + ch]!) * wx;
        const bottom = src[c + ch]! + (src[d + ch]! - src[c + ch]!) * wx;
        out[o + ch] = (top + (bottom - top) * wy) / 255;
      }
    }
  }
}

/** The whole image, optionally mirrored: used for evaluation and flip-TTA. */
export function sampleFull(src: Uint8Array, srcSize: number, out: Float32Array, outOffset: number, outSize: number, flip = false): void {
  if (srcSize === outSize && !flip) {
    for (let i = 0; i < src.length; i++) out[outOffset + i] = src[i]! / 255;
    return;
  }
  sampleCrop(src, srcSize, { x: 0, y: 0, w: srcSize, h: srcSize }, out, outOffset, outSize, flip);
}
