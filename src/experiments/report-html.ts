import path from 'node:path';
import { Marked } from 'marked';
import type { RunRecord, VariantRow } from './collect-runs.js';
import type { ExperimentPlan } from './load-experiment.js';
import { esc, f1BarsSvg, perClassSvg } from './report-charts.js';
import { appendixMarkdown } from './report-md.js';
import type { ReportImages } from './report-images.js';
import { TABLE_HEADER, tableCells } from './report-table.js';

const CSS = `body{font-family:system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;border:1px solid #ddd;padding:6px;background:#fff}
figure img{max-width:560px;height:auto;display:block}figcaption{font-size:13px;color:#444;margin-top:4px}
h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:2em}.muted{color:#777}`;

/** Markdown for the appendix: GFM tables, but no bare-URL autolinks (`pkg@1.0.6` is a package, not an e-mail address). */
const markdown = new Marked({ gfm: true, tokenizer: { url: () => undefined } });

/** A figure with its image inlined as a data URI (no server, no other files); a repeated image is named, not repeated. */
function figure(images: ReportImages, file: string, caption: string): string {
  const earlier = images.firstUse(file, caption);
  if (earlier) return `<p class="muted">${esc(caption)}: the same image as ${esc(earlier)} above.</p>`;
  return `<figure><img src="${images.uri(file)}" alt="${esc(caption)}"><figcaption>${esc(caption)}</figcaption></figure>`;
}

function gallery(images: ReportImages, runs: RunRecord[], pick: (r: RunRecord) => string | undefined, what: string): string {
  const figs = runs.filter((r) => pick(r)).map((r) => figure(images, pick(r)!, `${r.run.runName}: ${what}`));
  return figs.length ? `<div class="grid">${figs.join('')}</div>` : '<p class="muted">none yet (no finished run wrote one)</p>';
}

/** The appendix files: Markdown rendered (its headings one level down), PNGs inlined. */
function appendixHtml(images: ReportImages, files: string[]): string {
  return files
    .map((f) => {
      if (f.toLowerCase().endsWith('.png')) return `<div class="grid">${figure(images, f, path.basename(f))}</div>`;
      return `<section>${markdown.parse(appendixMarkdown(f), { async: false })}</section>`;
    })
    .join('\n');
}

/** Every image file report.html shows, for ReportImages.prepare. */
export function reportImageFiles(plan: ExperimentPlan, rows: VariantRow[]): string[] {
  const runs = rows.flatMap((r) => r.runs);
  return [
    ...runs.flatMap((r) => [r.learningCurve, r.confusionMatrix, ...r.extraImages].filter((f): f is string => !!f)),
    ...plan.appendix.filter((f) => f.toLowerCase().endsWith('.png')),
  ];
}

/** report.html: one self-contained page (inline CSS, inline SVG charts, PNGs as base64) that opens from disk. */
export function reportHtml(plan: ExperimentPlan, rows: VariantRow[], generated: Date, images: ReportImages): string {
  const runs = rows.flatMap((r) => r.runs);
  const table = [
    '<table><thead><tr>',
    ...TABLE_HEADER.map((h) => `<th>${esc(h)}</th>`),
    '</tr></thead><tbody>',
    ...tableCells(rows).map((cells) => `<tr>${cells.map((c, i) => `<td${i >= 2 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`),
    '</tbody></table>',
  ].join('');
  const perClass = perClassSvg(rows);
  const extras = runs.filter((r) => r.extraImages.length || r.notes);
  const extraHtml = extras.length
    ? extras
        .map((r) => {
          const notes = r.notes ? `<p>${Object.entries(r.notes).map(([k, v]) => `${esc(k)}: ${esc(String(v))}`).join(' · ')}</p>` : '';
          return `<h3>${esc(r.run.runName)}</h3>${notes}<div class="grid">${r.extraImages.map((f) => figure(images, f, `${r.run.runName}: ${path.basename(f)}`)).join('')}</div>`;
        })
        .join('')
    : '<p class="muted">No variant provided extra images (crops, boxes, super-resolution grids: PNGs listed in a run\'s summary.json or preprocess.json, or in its images/, crops/, boxes/ or sr/ folder).</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Experiment ${esc(plan.name)}</title><style>${CSS}</style></head><body>
<h1>Experiment ${esc(plan.name)}</h1>
${plan.description ? `<p>${esc(plan.description)}</p>` : ''}
<p class="muted">${esc(path.basename(plan.file))} · ${plan.folds > 1 ? `${plan.folds}-fold cross-validation; F1 is mean ± sample std dev (min–max) over folds` : 'one validation split per variant'} · generated ${esc(generated.toISOString())}</p>
<h2>Results</h2>
${table}
<p class="muted">Time: summed wall time of the finished runs. Train img/s: mean over epochs; infer img/s: validation predictions.</p>
${rows.some((r) => r.f1Mean !== undefined) ? f1BarsSvg(rows) : ''}
<h2>Learning curves</h2>
${gallery(images, runs, (r) => r.learningCurve, 'learning curve')}
<h2>Per-class F1 (validation)</h2>
${perClass ?? '<p class="muted">no finished run wrote val_per_class.csv</p>'}
<h2>Confusion matrices (validation)</h2>
${gallery(images, runs, (r) => r.confusionMatrix, 'confusion matrix')}
<h2>Extra images</h2>
${extraHtml}
${plan.appendix.length ? `<h2>Measurements of the toolbox</h2>\n${appendixHtml(images, plan.appendix)}` : ''}
</body></html>
`;
}
