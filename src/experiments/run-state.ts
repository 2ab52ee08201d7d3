import fs from 'node:fs';
import os from 'node:os';
import { appendLine } from '../util/append-line.js';
import path from 'node:path';

/** A run is finished when its summary.json exists (written last, atomically, by the training engine). */
export function isFinished(runDir: string): boolean {
  return fs.existsSync(path.join(runDir, 'summary.json'));
}

/** Epochs recorded in metrics.jsonl / metrics.csv so far (0 when none). */
export function epochsRecorded(runDir: string): { epochs: number; lastValF1?: number } {
  const jsonl = path.join(runDir, 'metrics.jsonl');
  if (fs.existsSync(jsonl)) {
    const lines = fs.readFileSync(jsonl, 'utf8').split('\n').filter((l) => l.trim());
    const last = lines.length ? (JSON.parse(lines[lines.length - 1]!) as { valF1?: number }) : undefined;
    return { epochs: lines.length, lastValF1: last?.valF1 };
  }
  return { epochs: 0 };
}

export interface AttemptRecord {
  event: 'start' | 'finish' | 'skip';
  time: string;
  host: string;
  pid: number;
  /** start: continuing from the last checkpoint; the epochs already recorded. */
  resume?: boolean;
  epochsDone?: number;
  seconds?: number;
}

/** experiment_log.jsonl in the run folder: one line per start/finish, so retries and resumes can be seen. */
export function logAttempt(runDir: string, rec: Omit<AttemptRecord, 'time' | 'host' | 'pid'>): void {
  appendLine(path.join(runDir, 'experiment_log.jsonl'), JSON.stringify({ ...rec, time: new Date().toISOString(), host: os.hostname(), pid: process.pid }));
}

export function readAttempts(runDir: string): AttemptRecord[] {
  const f = path.join(runDir, 'experiment_log.jsonl');
  if (!fs.existsSync(f)) return [];
  return fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as AttemptRecord);
}
