import sharp, { type Metadata } from 'sharp';
import { RequestError } from './errors.js';

export interface DecodeLimits {
  /** Largest width x height accepted, checked on the header before any pixel is decoded. */
  maxPixels: number;
  /** Decoding that takes longer is abandoned (HTTP 422). */
  decodeTimeoutMs: number;
}

export interface DecodedUpload {
  /** HWC uint8 RGB, size x size. */
  pixels: Uint8Array;
  width: number;
  height: number;
  format: string;
}

/**
 * Decodes one uploaded image for the model, refusing with a RequestError that names the image: empty input, bytes
 * that are no image format libvips knows, headers claiming more than maxPixels (decompression bombs are refused from
 * the header alone; sharp's limitInputPixels guards the decoder too), corrupt or truncated data, slow decodes.
 */
export async function decodeUpload(bytes: Uint8Array, size: number, limits: DecodeLimits, name: string): Promise<DecodedUpload> {
  if (!bytes.length) throw new RequestError(400, 'empty_image', `${name}: empty body (0 bytes)`);
  const opts = { failOn: 'warning' as const, limitInputPixels: limits.maxPixels };
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { ...opts, limitInputPixels: false }).metadata();
  } catch (err) {
    if (!/unsupported image format/i.test(msg(err))) throw new RequestError(400, 'corrupt_image', `${name}: corrupt image header (${msg(err)})`);
    throw new RequestError(415, 'unsupported_image', `${name}: not an image format the server reads (JPEG, PNG, WebP, GIF, TIFF, AVIF): ${msg(err)}`);
  }
  const { width = 0, height = 0 } = meta;
  if (!width || !height) throw new RequestError(400, 'corrupt_image', `${name}: image header has no size`);
  if (width * height > limits.maxPixels) {
    throw new RequestError(413, 'too_many_pixels', `${name}: ${width}x${height} = ${width * height} pixels is over the limit of ${limits.maxPixels} (--max-pixels)`);
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    let img = sharp(bytes, opts)
      .timeout({ seconds: Math.max(1, Math.ceil(limits.decodeTimeoutMs / 1000)) })
      .rotate();
    if (meta.hasAlpha) img = img.flatten({ background: { r: 255, g: 255, b: 255 } });
    img = img.toColourspace('srgb');
    if (width !== size || height !== size) img = img.resize(size, size, { fit: 'fill', kernel: 'lanczos3' });
    const work = img.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RequestError(422, 'decode_timeout', `${name}: decoding took over ${limits.decodeTimeoutMs} ms (--decode-timeout-ms)`)), limits.decodeTimeoutMs);
    });
    const { data, info } = await Promise.race([work, timeout]);
    if (info.channels !== 3 || data.length !== size * size * 3) throw new Error(`unexpected decode result ${info.width}x${info.height}x${info.channels}`);
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, format: meta.format ?? 'unknown' };
  } catch (err) {
    if (err instanceof RequestError) throw err;
    throw new RequestError(400, 'corrupt_image', `${name}: cannot decode ${meta.format ?? ''} image (${msg(err)})`);
  } finally {
    clearTimeout(timer);
  }
}

function msg(err: unknown): string {
  return ((err as Error).message ?? String(err)).split('\n')[0]!.slice(0, 200);
}
