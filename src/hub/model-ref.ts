/**
 * What `--model` names when it is not a registered preset: a hub repo (`ORG/NAME`, `hf:ORG/NAME`, either with
 * `@REVISION`) or a local folder holding config.json and weights.
 */
import fs from 'node:fs';
import path from 'node:path';

export type ModelRef = { kind: 'hub'; repo: string; revision: string } | { kind: 'folder'; dir: string };

const REPO_RE = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** Parses a model reference; returns null when `name` is neither a hub id nor an existing folder. */
export function parseModelRef(name: string): ModelRef | null {
  const explicitHub = name.startsWith('hf:');
  const body = explicitHub ? name.slice(3) : name;
  if (!explicitHub && (name.startsWith('.') || name.startsWith('/') || fs.existsSync(name))) {
    if (fs.existsSync(path.join(name, 'config.json'))) return { kind: 'folder', dir: path.resolve(name) };
    if (name.startsWith('.') || name.startsWith('/')) return null;
  }
  const at = body.lastIndexOf('@');
  const repo = at > 0 ? body.slice(0, at) : body;
  const revision = at > 0 ? body.slice(at + 1) : 'main';
  if (!REPO_RE.test(repo) || repo.includes('..') || !revision || /\s/.test(revision)) return null;
  return { kind: 'hub', repo, revision };
}

/** `hf:ORG/NAME@REVISION` (or the folder's absolute path): the canonical spelling stored in run metadata. */
export function formatModelRef(ref: ModelRef): string {
  return ref.kind === 'folder' ? ref.dir : `hf:${ref.repo}@${ref.revision}`;
}
