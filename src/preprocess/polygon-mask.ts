import sharp from 'sharp';

/** Rasterises a flat [x0, y0, x1, y1, ...] polygon into a width x height 0/1 mask (libvips renders it as SVG). */
export async function polygonMask(polygon: number[], width: number, height: number): Promise<Uint8Array> {
  const pts: string[] = [];
  for (let i = 0; i + 1 < polygon.length; i += 2) pts.push(`${polygon[i]!.toFixed(2)},${polygon[i + 1]!.toFixed(2)}`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="black"/><polygon points="${pts.join(' ')}" fill="white"/></svg>`;
  const { data } = await sharp(Buffer.from(svg)).greyscale().raw().toBuffer({ resolveWithObject: true });
  const out = new Uint8Array(width * height);
  const channels = data.length / (width * height);
  for (let i = 0; i < out.length; i++) out[i] = data[i * channels]! >= 128 ? 1 : 0;
  return out;
}
