import crypto from 'node:crypto';
import fs from 'node:fs';
import sharp from 'sharp';

/** PNGs above this size (photo grids: boxes, crops, SR samples) are inlined as JPEG instead, so the page stays small. */
const JPEG_ABOVE_BYTES = 400 * 1024;

/**
 * The data URIs of report.html's images, prepared once (sharp is asynchronous, the page builder is not). Identical
 * files (every crop variant lists the same detection grid) are inlined once: `firstUse` tells later figures so.
 */
export class ReportImages {
  private readonly uris = new Map<string, string>();
  private readonly hashes = new Map<string, string>();
  private readonly shown = new Map<string, string>();

  static async prepare(files: Iterable<string>): Promise<ReportImages> {
    const images = new ReportImages();
    for (const file of new Set(files)) {
      const buf = fs.readFileSync(file);
      images.hashes.set(file, crypto.createHash('sha1').update(buf).digest('hex'));
      if (buf.length <= JPEG_ABOVE_BYTES) {
        images.uris.set(file, `data:image/png;base64,${buf.toString('base64')}`);
      } else {
        const jpeg = await sharp(buf).flatten({ background: '#ffffff' }).jpeg({ quality: 85, mozjpeg: true }).toBuffer();
        images.uris.set(file, `data:image/jpeg;base64,${jpeg.toString('base64')}`);
      }
    }
    return images;
  }

  uri(file: string): string {
    const u = this.uris.get(file);
    if (!u) throw new Error(`report image ${file} was not prepared`);
    return u;
  }

  /** Records that `caption` shows `file`; returns the caption of an earlier figure with the same content, if any. */
  firstUse(file: string, caption: string): string | undefined {
    const hash = this.hashes.get(file) ?? file;
    const earlier = this.shown.get(hash);
    if (!earlier) this.shown.set(hash, caption);
    return earlier;
  }
}
