import './style.css';
import { classifyOnServer, getModel, type Explanation, type ModelInfo } from './api.js';
import type { BrowserModel } from './browser-model.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
let model: ModelInfo | null = null;
let browserModel: BrowserModel | null = null;
let lastFile: Blob | null = null;

function setStatus(text: string, error = false): void {
  status.textContent = text;
  status.className = error ? 'error' : '';
  document.body.dataset.state = error ? 'error' : text ? 'busy' : 'idle';
}

function mode(): 'server' | 'browser' {
  return (document.querySelector('input[name=mode]:checked') as HTMLInputElement).value as 'server' | 'browser';
}

function loadImage(file: Blob): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('the browser cannot read this file as an image'));
    img.src = URL.createObjectURL(file);
  });
}

async function ensureBrowserModel(m: ModelInfo): Promise<BrowserModel> {
  if (browserModel) return browserModel;
  if (!m.tfjs) {
    throw new Error(`model ${m.id} has no tfjs export, so it cannot run in the browser. Create one with: plumage export --run <run folder> --format tfjs --output <run folder>/export/tfjs, then reload.`);
  }
  setStatus('loading the tfjs model into the browser...');
  const { loadBrowserModel } = await import('./browser-model.js');
  browserModel = await loadBrowserModel(m.tfjs, m.classes, m.inputSize);
  return browserModel;
}

function render(r: Explanation, photoUrl: string, where: string): void {
  $('result').hidden = false;
  ($('photo') as HTMLImageElement).src = photoUrl;
  const heat = $<HTMLImageElement>('heatmap');
  heat.hidden = !r.heatmapPng;
  if (r.heatmapPng) heat.src = r.heatmapPng;
  if (r.inputPng) $<HTMLImageElement>('model-view').src = r.inputPng;
  $('top-label').textContent = r.top[0]!.label;
  $('bars').replaceChildren(
    ...r.top.map((t) => {
      const li = document.createElement('li');
      li.className = 'bar';
      li.dataset.label = t.label;
      li.innerHTML = `<span class="name"></span><span class="track"><span class="fill"></span></span><span class="pct"></span>`;
      li.querySelector('.name')!.textContent = t.label;
      (li.querySelector('.fill') as HTMLElement).style.width = `${(t.probability * 100).toFixed(1)}%`;
      li.querySelector('.pct')!.textContent = `${(t.probability * 100).toFixed(1)}%`;
      return li;
    }),
  );
  $('timing').textContent = `${where}: ${r.timing.totalMs} ms${r.heatmapPng ? '' : ' (no Grad-CAM for this model)'}`;
  document.body.dataset.mode = where.startsWith('server') ? 'server' : 'browser';
}

async function classify(file: Blob): Promise<void> {
  lastFile = file;
  try {
    model ??= await getModel();
    const img = await loadImage(file);
    setStatus('classifying...');
    if (mode() === 'server') {
      render(await classifyOnServer(file, model), img.src, 'server');
    } else {
      const bm = await ensureBrowserModel(model);
      const { classifyInBrowser } = await import('./browser-model.js');
      render(await classifyInBrowser(bm, img), img.src, `in this browser (tfjs ${bm.backend})`);
    }
    setStatus('');
    document.body.dataset.state = 'done';
  } catch (err) {
    setStatus((err as Error).message, true);
  }
}

$<HTMLInputElement>('file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void classify(f);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (f) void classify(f);
});
$<HTMLInputElement>('show-heat').addEventListener('change', (e) => {
  $('heatmap').style.visibility = (e.target as HTMLInputElement).checked ? 'visible' : 'hidden';
});
for (const r of document.querySelectorAll<HTMLInputElement>('input[name=mode]')) {
  r.addEventListener('change', () => {
    if (lastFile) void classify(lastFile);
    else if (mode() === 'browser' && model) ensureBrowserModel(model).then(() => setStatus(''), (err: Error) => setStatus(err.message, true));
  });
}

// Camera: a live preview, and a button that classifies the current frame.
$('camera-btn').addEventListener('click', async () => {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    const video = $<HTMLVideoElement>('video');
    video.srcObject = stream;
    $('camera').hidden = false;
  } catch (err) {
    setStatus(`camera unavailable: ${(err as Error).message}`, true);
  }
});
$('snap').addEventListener('click', () => {
  const video = $<HTMLVideoElement>('video');
  const c = document.createElement('canvas');
  c.width = video.videoWidth;
  c.height = video.videoHeight;
  c.getContext('2d')!.drawImage(video, 0, 0);
  c.toBlob((b) => b && void classify(b), 'image/png');
});

getModel().then(
  (m) => {
    model = m;
    $('model-info').textContent = `model ${m.id} (${m.architecture}, ${m.classes.length} classes, ${m.inputSize}px)${m.tfjs ? ' - tfjs export available' : ''}`;
    $('model-view-caption').textContent = `what the model sees (${m.decodeSize}px)`;
    document.body.dataset.state = 'idle';
  },
  (err: Error) => setStatus(`cannot reach the server: ${err.message}`, true),
);
