import sharp from 'sharp';
import { UserError } from '../util/errors.js';
import { lanczosEnlarge } from './lanczos.js';
import { ESRGAN_METHODS, type EsrganMethod, esrganUpscale, loadEsrgan } from './esrgan.js';

export type UpscaleMethod = EsrganMethod | 'bicubic' | 'lanczos';
export const UPSCALE_METHODS: readonly UpscaleMethod[] = [...ESRGAN_METHODS, 'bicubic', 'lanczos'];

export interface RgbImage {
  rgb: Uint8Array;
  width: number;
  height: number;
}

export function checkUpscaleMethod(method: string): UpscaleMethod {
  if (!UPSCALE_METHODS.includes(method as UpscaleMethod)) throw new UserError(`--method: unknown method '${method}' (expected one of ${UPSCALE_METHODS.join(', ')})`);
  return method as UpscaleMethod;
}

export function checkScale(scale: number): 2 | 3 | 4 {
  if (scale !== 2 && scale !== 3 && scale !== 4) throw new UserError(`--scale: expected 2, 3 or 4 (got ${scale})`);
  return scale;
}

/** Decodes any image sharp reads to RGB uint8 HWC at its own size (alpha flattened on white). */
export async function decodeRgb(input: string | Uint8Array): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(input, { failOn: 'error' }).rotate().flatten({ background: '#ffffff' }).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (err) {
    throw new UserError(`${typeof input === 'string' ? input : 'image'}: cannot decode image (${(err as Error).message})`);
  }
}

/**
 * Resizes with sharp (libvips). Reducing honours the kernel (`lanczos3` is how the dataset's 64px images were made);
 * enlarging uses libvips' bicubic interpolator whatever the kernel, see lanczos.ts.
 */
export async function resizeRgb(img: RgbImage, width: number, height: number, kernel: 'cubic' | 'lanczos3'): Promise<RgbImage> {
  const { data } = await sharp(Buffer.from(img.rgb.buffer, img.rgb.byteOffset, img.rgb.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { kernel, fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height };
}

/**
 * Upscales one image by `scale` with an ESRGAN model (tiled, see esrganUpscale; runs on the current tfjs backend,
 * so call selectBackend('torch') first) or with the bicubic (sharp) / Lanczos-3 (lanczos.ts) baselines.
 */
export async function upscaleRgb(img: RgbImage, method: UpscaleMethod, scale: number, tile = 128): Promise<RgbImage> {
  const W = img.width * scale;
  const H = img.height * scale;
  if (method === 'bicubic') return resizeRgb(img, W, H, 'cubic');
  if (method === 'lanczos') return { rgb: lanczosEnlarge(img.rgb, img.width, img.height, W, H), width: W, height: H };
  const m = await loadEsrgan(method, scale);
  return { rgb: esrganUpscale(m, img.rgb, img.width, img.height, tile), width: W, height: H };
}

/** Encodes RGB uint8 HWC as PNG (lossless, so SR output is kept exactly). */
export async function encodePng(img: RgbImage): Promise<Buffer> {
  return sharp(Buffer.from(img.rgb.buffer, img.rgb.byteOffset, img.rgb.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
}
