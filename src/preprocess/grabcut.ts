import { createRequire } from 'node:module';
import type { Box } from './boxes.js';

/* The few OpenCV.js calls used here, typed by hand (the package's typings do not cover grabCut). */
interface CvMat {
  data: Uint8Array;
  rows: number;
  cols: number;
  delete(): void;
  data32S: Int32Array;
}
interface CvMatVector {
  size(): number;
  get(i: number): CvMat;
  delete(): void;
}
interface Cv {
  Mat: { new (): CvMat; new (rows: number, cols: number, type: number): CvMat };
  MatVector: new () => CvMatVector;
  Rect: new (x: number, y: number, w: number, h: number) => unknown;
  matFromArray(rows: number, cols: number, type: number, data: ArrayLike<number>): CvMat;
  grabCut(img: CvMat, mask: CvMat, rect: unknown, bgd: CvMat, fgd: CvMat, iters: number, mode: number): void;
  findContours(img: CvMat, contours: CvMatVector, hierarchy: CvMat, mode: number, method: number): void;
  contourArea(c: CvMat): number;
  approxPolyDP(c: CvMat, out: CvMat, eps: number, closed: boolean): void;
  arcLength(c: CvMat, closed: boolean): number;
  CV_8UC1: number;
  CV_8UC3: number;
  GC_INIT_WITH_RECT: number;
  RETR_EXTERNAL: number;
  CHAIN_APPROX_SIMPLE: number;
  onRuntimeInitialized?: () => void;
}

let cvPromise: Promise<{ cv: Cv }> | null = null;

/**
 * Loads OpenCV.js (@techstark/opencv-js, a WebAssembly build of OpenCV) once per process. The Emscripten module is
 * itself a thenable, so it is wrapped (`const { cv } = await loadOpenCv()`): a Promise would adopt it.
 */
export function loadOpenCv(): Promise<{ cv: Cv }> {
  cvPromise ??= new Promise<{ cv: Cv }>((resolve) => {
    const cv = createRequire(import.meta.url)('@techstark/opencv-js') as Cv;
    if (typeof cv.Mat === 'function') resolve({ cv });
    else cv.onRuntimeInitialized = () => resolve({ cv });
  });
  return cvPromise;
}

export interface ForegroundMask {
  /** width x height, 1 = foreground (the bird), 0 = background. */
  mask: Uint8Array;
  /** Outline of the largest foreground region as a flat [x0, y0, x1, y1, ...] polygon (simplified). */
  polygon: number[];
  /** Foreground pixels / box pixels. */
  fillRatio: number;
}

/**
 * GrabCut (Rother et al. 2004, OpenCV's implementation) initialised with the detector's box: pixels outside the box are
 * background, the colour models of box and surroundings are iterated `iters` times. Returns the foreground mask and
 * the outline of its largest connected region. When GrabCut leaves (almost) nothing in the box, the whole box is
 * used as the mask (fillRatio says how much was kept).
 */
export async function grabCutMask(rgb: Uint8Array, width: number, height: number, box: Box, iters = 3): Promise<ForegroundMask> {
  const { cv } = await loadOpenCv();
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const w = Math.max(1, Math.min(width - x0, Math.ceil(box.x + box.w) - x0));
  const h = Math.max(1, Math.min(height - y0, Math.ceil(box.y + box.h) - y0));
  const img = cv.matFromArray(height, width, cv.CV_8UC3, rgb);
  const m = new cv.Mat();
  const bgd = new cv.Mat();
  const fgd = new cv.Mat();
  const out = new Uint8Array(width * height);
  let kept = 0;
  try {
    // GrabCut needs some background: a box covering the whole image gets a 1 px frame of it.
    const rx = x0 === 0 && w === width ? 1 : x0;
    const ry = y0 === 0 && h === height ? 1 : y0;
    const rw = Math.max(1, Math.min(w, width - rx - (rx === 1 && w === width ? 1 : 0)));
    const rh = Math.max(1, Math.min(h, height - ry - (ry === 1 && h === height ? 1 : 0)));
    cv.grabCut(img, m, new cv.Rect(rx, ry, rw, rh), bgd, fgd, iters, cv.GC_INIT_WITH_RECT);
    for (let i = 0; i < out.length; i++) {
      const v = m.data[i]!;
      out[i] = v === 1 || v === 3 ? 1 : 0; // GC_FGD or GC_PR_FGD
      kept += out[i]!;
    }
  } finally {
    img.delete();
    m.delete();
    bgd.delete();
    fgd.delete();
  }
  const fillRatio = kept / (w * h);
  if (fillRatio < 0.05) {
    out.fill(0);
    for (let y = y0; y < y0 + h; y++) out.fill(1, y * width + x0, y * width + x0 + w);
    return { mask: out, polygon: [x0, y0, x0 + w, y0, x0 + w, y0 + h, x0, y0 + h], fillRatio };
  }
  return { mask: out, polygon: largestOutline(cv, out, width, height), fillRatio };
}

function largestOutline(cv: Cv, mask: Uint8Array, width: number, height: number): number[] {
  const src = cv.matFromArray(height, width, cv.CV_8UC1, mask);
  const contours = new cv.MatVector();
  const hierarchy = new cv.Mat();
  try {
    cv.findContours(src, contours, hierarchy, cv.RETR_EXTERNAL, cv.CHAIN_APPROX_SIMPLE);
    let best = -1;
    let bestArea = -1;
    for (let i = 0; i < contours.size(); i++) {
      const a = cv.contourArea(contours.get(i));
      if (a > bestArea) {
        bestArea = a;
        best = i;
      }
    }
    if (best < 0) return [];
    const c = contours.get(best);
    const approx = new cv.Mat();
    cv.approxPolyDP(c, approx, 0.005 * cv.arcLength(c, true), true);
    const pts = Array.from(approx.data32S);
    approx.delete();
    return pts;
  } finally {
    src.delete();
    contours.delete();
    hierarchy.delete();
  }
}
