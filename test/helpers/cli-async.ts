import { spawn } from 'node:child_process';
import path from 'node:path';
import type { CliResult } from './cli.js';
import { repoRoot } from './shared.js';

/**
 * Runs the real `plumage` CLI in a child process without blocking this process's event loop (needed when the test
 * itself serves something the CLI talks to, such as a loopback hub).
 */
export function runCliAsync(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'plumage.js'), ...args], { cwd: repoRoot, env: { ...process.env, FORCE_COLOR: '0', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 240_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: stderr + (code === null ? `\n[plumage CLI killed by ${signal}]` : '') });
    });
  });
}
