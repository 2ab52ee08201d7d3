import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { summarizeVariants, type VariantRow } from './collect-runs.js';
import type { ExperimentPlan } from './load-experiment.js';
import { reportHtml, reportImageFiles } from './report-html.js';
import { ReportImages } from './report-images.js';
import { reportMarkdown } from './report-md.js';

/**
 * Builds report.md and report.html from whatever the run folders hold now, in `reportDir` (default the experiment
 * folder), with the best finished single-split variant's test submission beside them as `<variant>.submission.csv`.
 */
export async function writeReport(
  plan: ExperimentPlan,
  reportDir = plan.dir,
): Promise<{ md: string; html: string; rows: VariantRow[]; submission?: string }> {
  const rows = summarizeVariants(plan);
  const now = new Date();
  fs.mkdirSync(reportDir, { recursive: true });
  const md = path.join(reportDir, 'report.md');
  const html = path.join(reportDir, 'report.html');
  writeFileAtomic(md, reportMarkdown(plan, rows, now, reportDir));
  writeFileAtomic(html, reportHtml(plan, rows, now, await ReportImages.prepare(reportImageFiles(plan, rows))));
  const best = rows
    .filter((r) => r.f1Mean !== undefined && r.runs.length === 1 && fs.existsSync(path.join(r.runs[0]!.run.runDir, 'submission.csv')))
    .sort((a, b) => b.f1Mean! - a.f1Mean!)[0];
  let submission: string | undefined;
  if (best) {
    for (const r of rows) fs.rmSync(path.join(reportDir, `${r.name}.submission.csv`), { force: true });
    submission = path.join(reportDir, `${best.name}.submission.csv`);
    writeFileAtomic(submission, fs.readFileSync(path.join(best.runs[0]!.run.runDir, 'submission.csv')));
  }
  return { md, html, rows, submission };
}
