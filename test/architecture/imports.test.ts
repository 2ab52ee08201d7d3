import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readImportGraph, violations } from './import-graph.js';
import { repoRoot } from '../helpers/shared.js';

/** Writes a throwaway src/ tree: file path -> its import specifiers. */
function fakeTree(files: Record<string, string[]>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-imports-'));
  for (const [file, imports] of Object.entries(files)) {
    const p = path.join(root, 'src', file);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, imports.map((s, i) => (i % 2 ? `export { x${i} } from '${s}';\n` : `import { x${i} } from '${s}';\n`)).join('') + 'export const x = 1;\n');
  }
  return root;
}

describe('import direction: util <- data/augment/models/weights/runtime <- runs <- train/eval/predict (+ experiments/serve/export/hub/preprocess) <- cli', () => {
  it('the checker finds upward imports, folder cycles and file cycles, and passes a clean tree', () => {
    const bad = fakeTree({
      'util/a.ts': [],
      'models/m.ts': ['../util/a.js', '../train/t.js'],
      'train/t.ts': ['../predict/p.js', '../util/a.js'],
      'predict/p.ts': ['../train/t.js'],
      'cli/c.ts': ['../train/t.js', './d.js'],
      'cli/d.ts': ['./c.js'],
      'misc/x.ts': [],
    });
    const v = violations(readImportGraph(bad));
    assert.ok(v.includes('src/models/m.ts imports src/train/t.ts: models (layer 1) must not import train (layer 3)'), v.join('\n'));
    assert.ok(v.includes('folder cycle: predict -> train -> predict'), v.join('\n'));
    assert.ok(v.includes('file cycle: src/predict/p.ts -> src/train/t.ts -> src/predict/p.ts'), v.join('\n'));
    assert.ok(v.includes('file cycle: src/cli/c.ts -> src/cli/d.ts -> src/cli/c.ts'), v.join('\n'));
    assert.ok(v.some((l) => l.startsWith('src/misc/x.ts: folder src/misc has no layer')), v.join('\n'));
    assert.equal(v.length, 5, v.join('\n'));
    const good = fakeTree({ 'util/a.ts': [], 'models/m.ts': ['../util/a.js'], 'train/t.ts': ['../models/m.js', '../util/a.js'], 'cli/c.ts': ['../train/t.js'] });
    assert.deepEqual(violations(readImportGraph(good)), []);
    fs.rmSync(bad, { recursive: true, force: true });
    fs.rmSync(good, { recursive: true, force: true });
  });

  it('src/ follows the layering and has no import cycles', () => {
    const v = violations(readImportGraph(repoRoot));
    assert.deepEqual(v, [], `${v.length} violation(s):\n${v.join('\n')}`);
  });
});
