import sharp from 'sharp';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Row-normalised confusion matrix heat map as SVG (rows = true class, columns = predicted). */
export function confusionMatrixSvg(confusion: number[][], classNames: string[], title: string): string {
  const n = classNames.length;
  const cell = n > 30 ? 14 : 24;
  const left = 190;
  const top = 60;
  const bottom = 180;
  const w = left + n * cell + 170;
  const h = top + n * cell + bottom;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="DejaVu Sans, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${w / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    `<text x="${left + (n * cell) / 2}" y="${h - 8}" text-anchor="middle">predicted</text>`,
  ];
  confusion.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((count, p) => {
      const v = count / total;
      const shade = Math.round(255 * (1 - v));
      const fill = t === p ? `rgb(${shade},${Math.round(255 - 120 * v)},${shade})` : `rgb(255,${shade},${shade})`;
      parts.push(`<rect x="${left + p * cell}" y="${top + t * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ddd"/>`);
      if (count > 0 && cell >= 20) {
        parts.push(`<text x="${left + p * cell + cell / 2}" y="${top + t * cell + cell / 2 + 4}" text-anchor="middle" font-size="9" fill="${v > 0.6 ? 'white' : 'black'}">${count}</text>`);
      }
    });
    parts.push(`<text x="${left - 6}" y="${top + t * cell + cell / 2 + 4}" text-anchor="end">${esc(classNames[t]!)}</text>`);
  });
  classNames.forEach((name, p) => {
    const x = left + p * cell + cell / 2;
    const y = top + n * cell + 6;
    parts.push(`<text transform="translate(${x},${y}) rotate(60)" text-anchor="start">${esc(name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  /** Which y axis: left (e.g. loss) or right (e.g. F1 in [0,1]). */
  axis: 'left' | 'right';
}

/** Line chart of per-epoch metrics with a left axis (auto range) and a right axis fixed to [0, 1]. */
export function lineChartSvg(series: Series[], title: string, xLabel: string): string {
  const w = 720;
  const h = 400;
  const pad = { l: 60, r: 60, t: 40, b: 50 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ysLeft = series.filter((s) => s.axis === 'left').flatMap((s) => s.points.map((p) => p[1]));
  const xMin = Math.min(...xs, 0);
  const xMax = Math.max(...xs, 1);
  const yMax = Math.max(...ysLeft, 1e-6) * 1.05;
  const px = (x: number) => pad.l + ((x - xMin) / (xMax - xMin || 1)) * (w - pad.l - pad.r);
  const py = (y: number, axis: 'left' | 'right') => h - pad.b - (axis === 'left' ? y / yMax : y) * (h - pad.t - pad.b);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${w / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    `<line x1="${pad.l}" y1="${h - pad.b}" x2="${w - pad.r}" y2="${h - pad.b}" stroke="black"/>`,
    `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${h - pad.b}" stroke="black"/>`,
    `<line x1="${w - pad.r}" y1="${pad.t}" x2="${w - pad.r}" y2="${h - pad.b}" stroke="black"/>`,
    `<text x="${w / 2}" y="${h - 12}" text-anchor="middle">${esc(xLabel)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const f = i / 4;
    const y = h - pad.b - f * (h - pad.t - pad.b);
    parts.push(`<line x1="${pad.l}" y1="${y}" x2="${w - pad.r}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${pad.l - 6}" y="${y + 4}" text-anchor="end">${(f * yMax).toPrecision(3)}</text>`);
    parts.push(`<text x="${w - pad.r + 6}" y="${y + 4}">${f.toFixed(2)}</text>`);
  }
  // x ticks: whole numbers (epochs), at most about 10 labels.
  const step = Math.max(1, Math.ceil((xMax - xMin) / 10));
  for (let x = Math.ceil(xMin); x <= xMax; x += step) {
    parts.push(`<line x1="${px(x)}" y1="${h - pad.b}" x2="${px(x)}" y2="${h - pad.b + 5}" stroke="black"/>`);
    parts.push(`<text x="${px(x)}" y="${h - pad.b + 18}" text-anchor="middle">${x}</text>`);
  }
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    for (const p of s.points) parts.push(`<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1], s.axis).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${px(p[0]).toFixed(1)},${py(p[1], s.axis).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<rect x="${pad.l + 10 + i * 150}" y="${pad.t - 4}" width="12" height="4" fill="${s.color}"/><text x="${pad.l + 26 + i * 150}" y="${pad.t}">${esc(s.name)} (${s.axis})</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}
