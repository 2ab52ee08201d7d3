import sharp from 'sharp';
import { UserError } from '../util/errors.js';

/**
 * Decodes any image libvips reads (JPEG, PNG, WebP, GIF, TIFF, AVIF) to RGB uint8 HWC, resized to size x size.
 * Grayscale is expanded to RGB, alpha is composited on white, CMYK and 16-bit inputs are converted to 8-bit sRGB.
 */
export async function decodeImage(bytes: Uint8Array, size: number, source: string): Promise<Uint8Array> {
  try {
    let img = sharp(bytes, { failOn: 'error' }).rotate();
    const meta = await img.metadata();
    if (meta.hasAlpha) img = img.flatten({ background: { r: 255, g: 255, b: 255 } });
    img = img.toColourspace('srgb');
    if (meta.width !== size || meta.height !== size) img = img.resize(size, size, { fit: 'fill', kernel: 'lanczos3' });
    const { data, info } = await img.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== size * size * 3) throw new Error(`unexpected decode result ${info.width}x${info.height}x${info.channels}`);
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  } catch (err) {
    throw new UserError(`${source}: cannot decode image (${(err as Error).message})`);
  }
}
