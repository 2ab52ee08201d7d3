import type { Box } from './boxes.js';
import { pixelBox } from './boxes.js';
import { lanczosEnlarge } from './lanczos.js';
import { resizeRgb, type RgbImage, type UpscaleMethod, upscaleRgb } from './upscale.js';

/**
 * The four crop geometries of the seed's table (rows D-G), each producing a square `size` x `size` image:
 * - `contour`: the box's pixels with everything outside the foreground mask set to black, centred on a black square
 *   (aspect kept), then resized;
 * - `pad`: the box's pixels centred on a black square whose side is the box's longer side (aspect kept), resized;
 * - `keep-aspect`: a square window of the box's longer side around the box's centre taken from the image itself
 *   (context instead of black bars; moved inside the image where possible, black only beyond the image), resized;
 * - `resize`: the box's pixels stretched to the square (aspect not kept).
 */
export type CropMode = 'contour' | 'pad' | 'keep-aspect' | 'resize';
export const CROP_MODES: readonly CropMode[] = ['contour', 'pad', 'keep-aspect', 'resize'];

export interface CropOptions {
  /** Output side in pixels. */
  size: number;
  /** Foreground mask of the whole image (1 = bird), required by `contour`. */
  mask?: Uint8Array;
  /** Super-resolve the cut-out before the final resize (x4, the seed's suggested fix). */
  sr?: UpscaleMethod;
}

/** Copies a window of the image (may extend beyond it: those pixels are black) into a new w x h image. */
function window(img: RgbImage, x0: number, y0: number, w: number, h: number, mask?: Uint8Array): RgbImage {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const sy = y0 + y;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < w; x++) {
      const sx = x0 + x;
      if (sx < 0 || sx >= img.width) continue;
      if (mask && !mask[sy * img.width + sx]) continue;
      const s = (sy * img.width + sx) * 3;
      const d = (y * w + x) * 3;
      out[d] = img.rgb[s]!;
      out[d + 1] = img.rgb[s + 1]!;
      out[d + 2] = img.rgb[s + 2]!;
    }
  }
  return { rgb: out, width: w, height: h };
}

/** Places `img` centred on a black side x side square. */
function centreOnSquare(img: RgbImage, side: number): RgbImage {
  const out = new Uint8Array(side * side * 3);
  const ox = Math.floor((side - img.width) / 2);
  const oy = Math.floor((side - img.height) / 2);
  for (let y = 0; y < img.height; y++) out.set(img.rgb.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((oy + y) * side + ox) * 3);
  return { rgb: out, width: side, height: side };
}

/** The integer source window each mode cuts out (before squaring and resizing); exported for tests. */
export function cropWindow(box: Box, mode: CropMode, width: number, height: number): { x: number; y: number; w: number; h: number } {
  const b = pixelBox(box, width, height);
  if (mode !== 'keep-aspect') return b;
  const side = Math.max(b.w, b.h);
  const cx = b.x + b.w / 2;
  const cy = b.y + b.h / 2;
  const shift = (c: number, n: number) => (side >= n ? Math.round((n - side) / 2) : Math.min(Math.max(0, Math.round(c - side / 2)), n - side));
  return { x: shift(cx, width), y: shift(cy, height), w: side, h: side };
}

/** Cuts `box` out of `img` in the given mode and returns a size x size RGB image. */
export async function cropImage(img: RgbImage, box: Box, mode: CropMode, opts: CropOptions): Promise<RgbImage> {
  if (mode === 'contour' && !opts.mask) throw new Error('cropImage: contour mode needs a foreground mask');
  const win = cropWindow(box, mode, img.width, img.height);
  let cut = window(img, win.x, win.y, win.w, win.h, mode === 'contour' ? opts.mask : undefined);
  if (mode === 'pad' || mode === 'contour') cut = centreOnSquare(cut, Math.max(cut.width, cut.height));
  if (opts.sr) cut = await upscaleRgb(cut, opts.sr, 4);
  if (cut.width === opts.size && cut.height === opts.size) return cut;
  if (cut.width <= opts.size && cut.height <= opts.size) return { rgb: lanczosEnlarge(cut.rgb, cut.width, cut.height, opts.size, opts.size), width: opts.size, height: opts.size };
  return resizeRgb(cut, opts.size, opts.size, 'lanczos3');
}
