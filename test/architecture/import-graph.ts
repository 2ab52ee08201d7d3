/**
 * The import graph of src/ and the layering rule it must follow: every relative import (static, type-only,
 * re-export or dynamic `import()`, as found by TypeScript's own pre-processor) from a file in folder A to a file in
 * folder B needs layer(B) <= layer(A); folders of one layer may import each other but never in a cycle; no cycle
 * of files either.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Layer of every top-level folder of src/ (lower layers never import higher ones). */
export const LAYERS: Record<string, number> = {
  util: 0,
  data: 1,
  augment: 1,
  models: 1,
  weights: 1,
  runtime: 1,
  runs: 2,
  train: 3,
  eval: 3,
  predict: 3,
  experiments: 3,
  serve: 3,
  export: 3,
  hub: 1,
  preprocess: 3,
  cli: 4,
};

export interface ImportGraph {
  /** File (path relative to the root, forward slashes) -> the src files it imports. */
  edges: Map<string, Set<string>>;
}

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listTs(p));
    else if (/\.(ts|tsx|mts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function resolve(fromFile: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null; // a package
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = [base, base.replace(/\.(m?js)$/, (m) => (m === '.mjs' ? '.mts' : '.ts')), base.replace(/\.js$/, '.tsx'), `${base}.ts`, path.join(base, 'index.ts')];
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile()) ?? null;
}

/** Reads every TypeScript file under `root`/src and the relative imports between them. */
export function readImportGraph(root: string): ImportGraph {
  const src = path.join(root, 'src');
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');
  const edges = new Map<string, Set<string>>();
  for (const file of listTs(src)) {
    const deps = new Set<string>();
    for (const imp of ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true).importedFiles) {
      const target = resolve(file, imp.fileName);
      if (target && target.startsWith(src + path.sep)) deps.add(rel(target));
    }
    edges.set(rel(file), deps);
  }
  return { edges };
}

/** Top-level folder of a src file (`src/train/tasks/x.ts` -> `train`); files directly in src/ belong to `.`. */
export function folderOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1]! : '.';
}

/** Strongly connected components with more than one node (or a node importing itself), via Tarjan's algorithm. */
function cycles(nodes: string[], next: (n: string) => Iterable<string>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of next(v)) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || [...next(v)].includes(v)) out.push(comp.sort());
    }
  };
  for (const n of [...nodes].sort()) if (!idx.has(n)) visit(n);
  return out;
}

/** Shortest path from `from` to `to` inside a component (breadth-first), both ends included; null if none. */
function shortestPath(from: string, to: string, comp: Set<string>, next: (n: string) => Iterable<string>): string[] | null {
  const prev = new Map<string, string>([[from, from]]);
  const queue = [from];
  while (queue.length) {
    const v = queue.shift()!;
    if (v === to) {
      const p = [v];
      while (p[0] !== from) p.unshift(prev.get(p[0]!)!);
      return p;
    }
    for (const w of [...next(v)].sort()) {
      if (comp.has(w) && !prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return null;
}

/** The shortest cycle through each edge of a component, each cycle once (written from its smallest node). */
function cyclesThroughEdges(comp: string[], next: (n: string) => Iterable<string>): string[][] {
  const set = new Set(comp);
  const seen = new Map<string, string[]>();
  for (const a of comp) {
    for (const b of [...next(a)].sort()) {
      if (!set.has(b)) continue;
      const back = a === b ? [a] : shortestPath(b, a, set, next);
      if (!back) continue;
      const ring = a === b ? [a] : [a, ...back.slice(0, -1)];
      const k = ring.indexOf([...ring].sort()[0]!);
      const canon = [...ring.slice(k), ...ring.slice(0, k)];
      seen.set(canon.join('\0'), [...canon, canon[0]!]);
    }
  }
  return [...seen.values()];
}

/** Every violation of the layering rule, one line each (empty when the tree follows it). */
export function violations(g: ImportGraph, layers: Record<string, number> = LAYERS): string[] {
  const out: string[] = [];
  const folders = new Set<string>();
  for (const [file, deps] of g.edges) {
    const a = folderOf(file);
    folders.add(a);
    if (layers[a] === undefined) out.push(`${file}: folder src/${a} has no layer (add it to LAYERS in test/architecture/import-graph.ts)`);
    for (const d of [...deps].sort()) {
      const b = folderOf(d);
      if (a === b || layers[a] === undefined || layers[b] === undefined) continue;
      if (layers[b]! > layers[a]!) out.push(`${file} imports ${d}: ${a} (layer ${layers[a]}) must not import ${b} (layer ${layers[b]})`);
    }
  }
  const folderNext = (f: string) => {
    const s = new Set<string>();
    for (const [file, deps] of g.edges) if (folderOf(file) === f) for (const d of deps) if (folderOf(d) !== f) s.add(folderOf(d));
    return s;
  };
  for (const comp of cycles([...folders], folderNext)) for (const c of cyclesThroughEdges(comp, folderNext)) out.push(`folder cycle: ${c.join(' -> ')}`);
  const fileNext = (f: string) => g.edges.get(f) ?? [];
  for (const comp of cycles([...g.edges.keys()], fileNext)) for (const c of cyclesThroughEdges(comp, fileNext)) out.push(`file cycle: ${c.join(' -> ')}`);
  return out;
}
