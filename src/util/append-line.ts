import fs from 'node:fs';
import path from 'node:path';

/** Appends one line to a log file (JSON lines), creating its folder when needed. */
export function appendLine(target: string, line: string): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.appendFileSync(target, line.endsWith('\n') ? line : line + '\n');
}
