import type { VariantRow } from './collect-runs.js';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Horizontal bars of val macro F1 per variant, with a whisker over the folds' min–max when there are several. */
export function f1BarsSvg(rows: VariantRow[]): string {
  const done = rows.filter((r) => r.f1Mean !== undefined);
  const rowH = 26;
  const left = 120;
  const width = 640;
  const plotW = width - left - 70;
  const top = 30;
  const h = top + Math.max(1, done.length) * rowH + 40;
  const lo = Math.max(0, Math.floor((Math.min(...done.map((r) => r.f1Min ?? r.f1Mean!), 1) - 0.05) * 10) / 10);
  const x = (v: number) => left + ((v - lo) / (1 - lo || 1)) * plotW;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" font-family="DejaVu Sans, sans-serif" font-size="12" role="img" aria-label="val macro F1 per variant">`];
  for (let i = 0; i <= 5; i++) {
    const v = lo + ((1 - lo) * i) / 5;
    parts.push(`<line x1="${x(v)}" y1="${top - 6}" x2="${x(v)}" y2="${h - 34}" stroke="#e5e5e5"/><text x="${x(v)}" y="${h - 18}" text-anchor="middle" fill="#555">${v.toFixed(2)}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${h - 3}" text-anchor="middle" fill="#333">val macro F1</text>`);
  const best = Math.max(...done.map((r) => r.f1Mean!));
  done.forEach((r, i) => {
    const y = top + i * rowH;
    const color = r.f1Mean === best ? '#2a9d8f' : '#7aa6c2';
    parts.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(r.name)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(r.f1Mean!) - left).toFixed(1)}" height="${rowH - 8}" fill="${color}"/>`);
    if (r.f1Min !== undefined && r.f1Max !== undefined && r.f1Max > r.f1Min) {
      const yc = y + rowH / 2 - 1;
      parts.push(`<path d="M${x(r.f1Min).toFixed(1)},${yc} H${x(r.f1Max).toFixed(1)} M${x(r.f1Min).toFixed(1)},${yc - 5} v10 M${x(r.f1Max).toFixed(1)},${yc - 5} v10" stroke="#222" fill="none"/>`);
    }
    parts.push(`<text x="${(x(r.f1Max ?? r.f1Mean!) + 6).toFixed(1)}" y="${y + 15}" fill="#222">${r.f1Mean!.toFixed(4)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Per-class val F1 as a heat map: one row per class, one column per variant (mean over its finished folds). */
export function perClassSvg(rows: VariantRow[]): string | undefined {
  const cols = rows
    .map((r) => {
      const runs = r.runs.filter((x) => x.finished && x.perClass);
      if (!runs.length) return undefined;
      const names = runs[0]!.perClass!.map((c) => c.name);
      const f1 = names.map((n) => runs.reduce((a, x) => a + (x.perClass!.find((c) => c.name === n)?.f1 ?? 0), 0) / runs.length);
      return { variant: r.name, names, f1 };
    })
    .filter((c): c is NonNullable<typeof c> => c !== undefined);
  if (!cols.length) return undefined;
  const classes = cols[0]!.names;
  const cw = 58;
  const ch = 18;
  const left = 200;
  const top = 50;
  const w = left + cols.length * cw + 20;
  const h = top + classes.length * ch + 20;
  const color = (v: number) => `hsl(${Math.round(120 * Math.max(0, Math.min(1, v)))}, 65%, ${Math.round(88 - 30 * v)}%)`;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="DejaVu Sans, sans-serif" font-size="11" role="img" aria-label="per-class val F1">`];
  cols.forEach((c, j) => parts.push(`<text x="${left + j * cw + cw / 2}" y="${top - 10}" text-anchor="middle" font-weight="bold">${esc(c.variant)}</text>`));
  classes.forEach((name, i) => {
    const y = top + i * ch;
    parts.push(`<text x="${left - 6}" y="${y + 13}" text-anchor="end">${esc(name)}</text>`);
    cols.forEach((c, j) => {
      const k = c.names.indexOf(name);
      const v = k >= 0 ? c.f1[k]! : NaN;
      parts.push(`<rect x="${left + j * cw}" y="${y}" width="${cw - 2}" height="${ch - 2}" fill="${Number.isFinite(v) ? color(v) : '#eee'}"><title>${esc(name)} / ${esc(c.variant)}: F1 ${Number.isFinite(v) ? v.toFixed(4) : 'n/a'}</title></rect>`);
      parts.push(`<text x="${left + j * cw + cw / 2 - 1}" y="${y + 12}" text-anchor="middle">${Number.isFinite(v) ? v.toFixed(2) : '–'}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('');
}
