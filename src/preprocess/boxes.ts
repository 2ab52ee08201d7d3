/** Box arithmetic in pixel coordinates (x, y = top-left corner; COCO's bbox order). */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy non-maximum suppression: indices of the kept boxes, best score first. */
export function nms(boxes: Box[], scores: number[], iouThreshold: number, maxBoxes: number): number[] {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const keep: number[] = [];
  for (const i of order) {
    if (keep.length >= maxBoxes) break;
    if (keep.every((k) => iou(boxes[k]!, boxes[i]!) <= iouThreshold)) keep.push(i);
  }
  return keep;
}

/** Maps a box from a srcW x srcH image to the same region of a dstW x dstH image (e.g. the 256px copy -> 64px). */
export function scaleBox(b: Box, srcW: number, srcH: number, dstW: number, dstH: number): Box {
  const sx = dstW / srcW;
  const sy = dstH / srcH;
  return { x: b.x * sx, y: b.y * sy, w: b.w * sx, h: b.h * sy };
}

/** Scales a flat [x0, y0, x1, y1, ...] polygon the same way. */
export function scalePolygon(p: number[], srcW: number, srcH: number, dstW: number, dstH: number): number[] {
  return p.map((v, i) => (i % 2 === 0 ? (v * dstW) / srcW : (v * dstH) / srcH));
}

/** Clips a box to the image and rounds it outward to whole pixels (at least 1x1). */
export function pixelBox(b: Box, width: number, height: number): Box {
  const x0 = Math.max(0, Math.min(width - 1, Math.floor(b.x)));
  const y0 = Math.max(0, Math.min(height - 1, Math.floor(b.y)));
  const x1 = Math.max(x0 + 1, Math.min(width, Math.ceil(b.x + b.w)));
  const y1 = Math.max(y0 + 1, Math.min(height, Math.ceil(b.y + b.h)));
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}
