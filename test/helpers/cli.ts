import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './shared.js';

export interface CliResult {
  /** Exit code; null when the process was killed by a signal (see `stderr`, which then says which). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `plumage` CLI (bin/plumage.js) in a child process. */
export function runCli(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'plumage.js'), ...args], {
    cwd: opts.cwd ?? repoRoot,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  const killed = r.status === null ? `\n[plumage CLI killed by ${r.signal ?? 'unknown signal'}${r.error ? `: ${r.error.message}` : ''}]` : '';
  return { code: r.status, stdout: r.stdout, stderr: r.stderr + killed };
}
