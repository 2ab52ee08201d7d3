import fs from 'node:fs';
import path from 'node:path';
import type { VariantRow } from './collect-runs.js';
import type { ExperimentPlan } from './load-experiment.js';
import { TABLE_HEADER, tableCells } from './report-table.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** An appendix Markdown file with its own headings moved two levels down (under "Measurements of the toolbox"). */
export function appendixMarkdown(file: string): string {
  return fs.readFileSync(file, 'utf8').replace(/^(#{1,5}) /gm, '##$1 ');
}

/** report.md: the results table (one row per variant, its name in the first cell) and where each run lives. */
export function reportMarkdown(plan: ExperimentPlan, rows: VariantRow[], generated: Date, reportDir = plan.dir): string {
  const lines = [
    `# Experiment ${plan.name}`,
    '',
    ...(plan.description ? [plan.description, ''] : []),
    `From \`${plan.file}\`, ${plan.folds > 1 ? `${plan.folds}-fold cross-validation (F1: mean ± sample std dev (min–max) over folds)` : 'one validation split per variant'}; generated ${generated.toISOString()}.`,
    'Time is the summed wall time of the finished runs; images/s are means over them (train: per epoch; infer: validation predictions).',
    '',
    `| ${TABLE_HEADER.join(' | ')} |`,
    `|${TABLE_HEADER.map(() => '---').join('|')}|`,
    ...tableCells(rows).map((c) => `| ${c.map(cell).join(' | ')} |`),
    '',
    '## Runs',
    '',
    '| run | status | val macro F1 | epochs | starts | folder |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows.flatMap((v) => v.runs)) {
    const status = r.finished ? 'finished' : r.started ? 'unfinished' : 'not run';
    lines.push(`| ${r.run.runName} | ${status} | ${r.valF1 !== undefined ? r.valF1.toFixed(4) : '–'} | ${r.epochs ?? '–'} | ${r.attempts} | \`${path.relative(reportDir, r.run.runDir)}\` |`);
  }
  const notes = rows.flatMap((v) => v.runs).filter((r) => r.notes && Object.keys(r.notes).length);
  if (notes.length) {
    lines.push('', '## Preprocessing notes', '');
    for (const r of notes) lines.push(`- ${r.run.runName}: ${Object.entries(r.notes!).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  if (plan.appendix.length) {
    lines.push('', '## Measurements of the toolbox', '');
    for (const f of plan.appendix) {
      if (f.toLowerCase().endsWith('.png')) lines.push(`![${path.basename(f)}](${path.relative(reportDir, f)})`, '');
      else lines.push(appendixMarkdown(f).trim(), '');
    }
  }
  lines.push('', 'Charts (learning curves, confusion matrices, per-class F1, extra images): `report.html` beside this file.', '');
  return lines.join('\n');
}
