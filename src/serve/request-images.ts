import type { FastifyRequest } from 'fastify';
import { RequestError } from './errors.js';

export interface UploadedImage {
  name: string;
  bytes: Buffer;
}

/** Content types taken as one raw image body. */
export const RAW_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/tiff', 'image/avif', 'application/octet-stream'];

/**
 * The images of a request: a raw image body (one image) or multipart/form-data (every file part, in order).
 * Refuses other content types, no image, more than maxImages, or more than bodyLimit bytes in all (multipart).
 */
export async function requestImages(req: FastifyRequest, maxImages: number, bodyLimit: number): Promise<UploadedImage[]> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (req.isMultipart()) {
    const out: UploadedImage[] = [];
    let total = 0;
    for await (const part of req.parts()) {
      if (part.type !== 'file') continue;
      const bytes = await part.toBuffer();
      total += bytes.length;
      if (total > bodyLimit) throw new RequestError(413, 'body_too_large', `multipart body over ${bodyLimit} bytes (--body-limit-mb)`);
      out.push({ name: part.filename || `image ${out.length + 1}`, bytes });
      if (out.length > maxImages) throw new RequestError(413, 'too_many_images', `more than ${maxImages} images in one request`);
    }
    if (!out.length) throw new RequestError(400, 'no_image', 'multipart body has no file part: send the image(s) as file fields');
    return out;
  }
  if (!RAW_IMAGE_TYPES.includes(type)) {
    throw new RequestError(415, 'unsupported_content_type', `content-type '${type || '(none)'}' is not accepted: send the image bytes as image/* (or application/octet-stream), or files as multipart/form-data`);
  }
  const body = req.body;
  if (body === undefined || body === null) return [{ name: 'body', bytes: Buffer.alloc(0) }];
  if (!Buffer.isBuffer(body)) throw new RequestError(400, 'bad_body', 'request body is not binary');
  return [{ name: 'body', bytes: body }];
}
