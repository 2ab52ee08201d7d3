import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { summarizeVariants, type VariantRow } from './collect-runs.js';
import type { ExperimentPlan } from './load-experiment.js';
import { reportHtml } from './report-html.js';
import { reportMarkdown } from './report-md.js';

/** Builds report.md and report.html in the experiment folder from whatever its run folders hold now. */
export function writeReport(plan: ExperimentPlan): { md: string; html: string; rows: VariantRow[] } {
  const rows = summarizeVariants(plan);
  const now = new Date();
  const md = path.join(plan.dir, 'report.md');
  const html = path.join(plan.dir, 'report.html');
  writeFileAtomic(md, reportMarkdown(plan, rows, now));
  writeFileAtomic(html, reportHtml(plan, rows, now));
  return { md, html, rows };
}
