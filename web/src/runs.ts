import './style.css';
import { getJson } from './api.js';

interface RunListing {
  runsDir: string;
  runs: { id: string; files: string[]; summary: { valF1?: number } | null }[];
}
interface RunDetail {
  id: string;
  configText: string | null;
  summary: Record<string, unknown> | null;
  perClass: { class: string; precision: number; recall: number; f1: number; support: number }[] | null;
  files: string[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function fmt(v: unknown): string {
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : String(v);
}

async function showRun(id: string): Promise<void> {
  const r = await getJson<RunDetail>(`/v1/runs/${encodeURIComponent(id)}`);
  for (const a of document.querySelectorAll('#run-list a')) a.classList.toggle('here', a.textContent === id);
  $('run').hidden = false;
  $('run-title').textContent = r.id;
  const s = r.summary ?? {};
  $('run-summary').textContent = ['valF1', 'valAccuracy', 'trainImages', 'valImages', 'wallSeconds', 'backend']
    .filter((k) => k in s)
    .map((k) => `${k} ${fmt(s[k])}`)
    .join(' · ');
  const img = (el: string, file: string) => {
    const e = $<HTMLImageElement>(el);
    e.hidden = !r.files.includes(file);
    if (!e.hidden) e.src = `/v1/runs/${encodeURIComponent(id)}/files/${file}`;
  };
  img('learning-curve', 'learning_curve.png');
  img('confusion', 'val_confusion_matrix.png');
  const rows = (r.perClass ?? []).map((c) => {
    const tr = document.createElement('tr');
    const f4 = (v: number) => Number(v).toFixed(4);
    for (const v of [c.class, f4(c.precision), f4(c.recall), '', String(c.support)]) tr.appendChild(document.createElement('td')).textContent = v;
    const f1 = tr.children[3]!;
    f1.innerHTML = `<span class="f1bar" style="width:${Math.round(Number(c.f1) * 80)}px"></span>`;
    f1.append(f4(c.f1));
    return tr;
  });
  $('per-class').querySelector('tbody')!.replaceChildren(...rows);
  $('config').textContent = r.configText ?? '(no config.yaml)';
  document.body.dataset.state = 'done';
}

getJson<RunListing>('/v1/runs').then(
  (l) => {
    $('runs-dir').textContent = `from ${l.runsDir}`;
    $('run-list').replaceChildren(
      ...l.runs.map((r) => {
        const li = document.createElement('li');
        const a = li.appendChild(document.createElement('a'));
        a.href = `#${r.id}`;
        a.textContent = r.id;
        a.addEventListener('click', () => void showRun(r.id));
        if (r.summary?.valF1 !== undefined) li.append(` (F1 ${fmt(r.summary.valF1)})`);
        return li;
      }),
    );
    const first = decodeURIComponent(location.hash.slice(1)) || l.runs[0]?.id;
    if (first) void showRun(first);
  },
  (err: Error) => ($('runs-dir').textContent = `cannot list runs: ${err.message}`),
);
