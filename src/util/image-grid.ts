import sharp, { type OverlayOptions } from 'sharp';

/** One cell of an image grid: an RGB uint8 HWC image, an optional caption and optional boxes/polygons drawn over it. */
export interface GridTile {
  rgb: Uint8Array;
  width: number;
  height: number;
  caption?: string;
  /** Boxes in the tile's own pixel coordinates. */
  boxes?: { x: number; y: number; w: number; h: number; color?: string; label?: string }[];
  /** Polygons (flat x,y lists) in the tile's pixel coordinates. */
  polygons?: number[][];
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Lays tiles out in a grid (each scaled to `cell` px wide, nearest-neighbour so small images stay crisp), draws the
 * captions under them and the boxes over them, and returns a PNG.
 */
export async function imageGridPng(tiles: GridTile[], opts: { cols?: number; cell?: number; title?: string } = {}): Promise<Buffer> {
  if (tiles.length === 0) throw new Error('imageGridPng: no tiles');
  const cols = Math.min(opts.cols ?? Math.ceil(Math.sqrt(tiles.length)), tiles.length);
  const rows = Math.ceil(tiles.length / cols);
  const cell = opts.cell ?? 128;
  const captionH = tiles.some((t) => t.caption) ? 30 : 0;
  const titleH = opts.title ? 26 : 0;
  const gap = 6;
  const W = cols * (cell + gap) + gap;
  const H = titleH + rows * (cell + captionH + gap) + gap;
  const composites: OverlayOptions[] = [];
  const svg: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="10">`];
  if (opts.title) svg.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`);
  for (let i = 0; i < tiles.length; i++) {
    const t = tiles[i]!;
    const x0 = gap + (i % cols) * (cell + gap);
    const y0 = titleH + gap + Math.floor(i / cols) * (cell + captionH + gap);
    const scale = cell / Math.max(t.width, t.height);
    const w = Math.max(1, Math.round(t.width * scale));
    const h = Math.max(1, Math.round(t.height * scale));
    const input = await sharp(Buffer.from(t.rgb.buffer, t.rgb.byteOffset, t.rgb.byteLength), { raw: { width: t.width, height: t.height, channels: 3 } })
      .resize(w, h, { kernel: scale >= 1 ? 'nearest' : 'lanczos3' })
      .png()
      .toBuffer();
    composites.push({ input, left: x0, top: y0 });
    for (const b of t.boxes ?? []) {
      const c = b.color ?? '#ff2d2d';
      svg.push(`<rect x="${x0 + b.x * scale}" y="${y0 + b.y * scale}" width="${b.w * scale}" height="${b.h * scale}" fill="none" stroke="${c}" stroke-width="2"/>`);
      if (b.label) svg.push(`<text x="${x0 + b.x * scale + 2}" y="${y0 + b.y * scale + 11}" fill="${c}" font-weight="bold">${esc(b.label)}</text>`);
    }
    for (const p of t.polygons ?? []) {
      const pts: string[] = [];
      for (let k = 0; k + 1 < p.length; k += 2) pts.push(`${(x0 + p[k]! * scale).toFixed(1)},${(y0 + p[k + 1]! * scale).toFixed(1)}`);
      svg.push(`<polygon points="${pts.join(' ')}" fill="none" stroke="#2dff6a" stroke-width="1.5"/>`);
    }
    if (t.caption) {
      const lines = t.caption.split('\n').slice(0, 2);
      const chars = Math.floor(cell / 5.6);
      lines.forEach((line, k) => svg.push(`<text x="${x0 + cell / 2}" y="${y0 + cell + 11 + k * 12}" text-anchor="middle" font-size="9">${esc(line.length > chars ? line.slice(0, chars - 1) + '…' : line)}</text>`));
    }
  }
  svg.push('</svg>');
  composites.push({ input: Buffer.from(svg.join('\n')), left: 0, top: 0 });
  return sharp({ create: { width: W, height: H, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(composites)
    .png()
    .toBuffer();
}
