import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadLabelledDataset } from '../data/load-dataset.js';
import { argmaxRows, classificationReport } from '../eval/metrics.js';
import { writeReportFiles } from '../eval/report-files.js';
import { softVote } from '../eval/soft-vote.js';
import { type Probabilities, readProbabilities, writeProbabilities, writeSubmission } from '../predict/submission.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import type { PlannedVote, RunRef } from './load-experiment.js';
import { isFinished } from './run-state.js';

/** The members' probabilities of one split, checked to cover the same ids (same order) and classes. */
function sameRows(who: string, members: Probabilities[]): void {
  const [first, ...rest] = members;
  for (const m of rest) {
    if (m.classes.join('\n') !== first!.classes.join('\n')) throw new UserError(`${who}: ${m.file} has other classes than ${first!.file}`);
    if (m.ids.length !== first!.ids.length || m.ids.some((id, i) => id !== first!.ids[i])) {
      throw new UserError(`${who}: ${m.file} and ${first!.file} hold different images (a vote needs the same validation split and test set)`);
    }
  }
}

/** Labels of the validation ids, from the member's training data (its config.yaml: `data`, and `valData` if set). */
function valLabels(member: RunRef, ids: string[], classes: string[]): number[] {
  const cfg = YAML.parse(fs.readFileSync(path.join(member.runDir, 'config.yaml'), 'utf8')) as { data?: string; valData?: string };
  const byId = new Map<string, string>();
  for (const loc of [cfg.data, cfg.valData]) {
    if (!loc) continue;
    const ds = loadLabelledDataset(loc, { classes });
    for (const s of ds.samples) if (s.label !== undefined) byId.set(s.id, ds.classes[s.label]!);
  }
  return ids.map((id) => {
    const name = byId.get(id);
    if (name === undefined) throw new UserError(`${member.runName}: validation image ${id} has no label in ${cfg.data}${cfg.valData ? ` or ${cfg.valData}` : ''}`);
    return classes.indexOf(name);
  });
}

export type VoteOutcome = { outcome: 'voted'; valF1: number } | { outcome: 'waiting'; missing: string[] };

/**
 * Soft-votes the member runs' saved probabilities (no model is run): the mean of their val_probabilities.csv gives the
 * row's validation report, the mean of their test_probabilities.csv its submission. The run folder gets the files a
 * trained run has for the report (summary.json last); its time is the members' summed wall time (what the row costs).
 */
export async function runVote(vote: PlannedVote): Promise<VoteOutcome> {
  const missing = vote.members.filter((m) => !isFinished(m.runDir) || !fs.existsSync(path.join(m.runDir, 'val_probabilities.csv'))).map((m) => m.runName);
  if (missing.length) return { outcome: 'waiting', missing };
  const who = `vote ${vote.runName}`;
  const val = vote.members.map((m) => readProbabilities(path.join(m.runDir, 'val_probabilities.csv')));
  sameRows(who, val);
  const classes = val[0]!.classes;
  const valProbs = softVote(val.map((v) => v.probs));
  const labels = valLabels(vote.members[0]!, val[0]!.ids, classes);
  const report = classificationReport(labels, argmaxRows(valProbs, classes.length), classes);
  fs.mkdirSync(vote.runDir, { recursive: true });
  await writeReportFiles(vote.runDir, 'val_', report, classes, `Validation confusion matrix (macro F1 ${report.macroF1.toFixed(4)})`);
  writeProbabilities(path.join(vote.runDir, 'val_probabilities.csv'), val[0]!.ids, valProbs, classes);
  const testFiles = vote.members.map((m) => path.join(m.runDir, 'test_probabilities.csv'));
  let submission: string | undefined;
  if (testFiles.every((f) => fs.existsSync(f))) {
    const test = testFiles.map(readProbabilities);
    sameRows(who, test);
    const testProbs = softVote(test.map((t) => t.probs));
    submission = path.join(vote.runDir, 'submission.csv');
    writeSubmission(submission, test[0]!.ids, testProbs, classes);
    writeProbabilities(path.join(vote.runDir, 'test_probabilities.csv'), test[0]!.ids, testProbs, classes);
  }
  const memberSummaries = vote.members.map((m) => JSON.parse(fs.readFileSync(path.join(m.runDir, 'summary.json'), 'utf8')) as { wallSeconds?: number; valF1?: number });
  const summary = {
    runDir: vote.runDir,
    recipe: 'vote',
    members: vote.members.map((m, i) => ({ run: m.runName, valF1: memberSummaries[i]!.valF1 })),
    valImages: labels.length,
    valF1: report.macroF1,
    valAccuracy: report.accuracy,
    wallSeconds: memberSummaries.reduce((a, s) => a + (s.wallSeconds ?? 0), 0),
    submission,
  };
  writeFileAtomic(path.join(vote.runDir, 'summary.json'), JSON.stringify(summary, null, 2));
  return { outcome: 'voted', valF1: report.macroF1 };
}

/** Computes every vote row of a plan (cheap: no model runs); a vote whose members are unfinished is reported, not failed. */
export async function runVotes(votes: PlannedVote[], log: (m: string) => void): Promise<{ runName: string; reason: string }[]> {
  const failures: { runName: string; reason: string }[] = [];
  for (const v of votes) {
    try {
      const r = await runVote(v);
      if (r.outcome === 'voted') log(`${v.runName}: soft vote of ${v.members.map((m) => m.runName).join(', ')}: val macro F1 ${r.valF1.toFixed(4)}`);
      else log(`${v.runName}: not voted yet: ${r.missing.join(', ')} unfinished`);
    } catch (err) {
      log(`${v.runName}: FAILED: ${(err as Error).message}`);
      failures.push({ runName: v.runName, reason: (err as Error).message });
    }
  }
  return failures;
}
