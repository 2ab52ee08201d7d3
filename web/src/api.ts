/** Types and calls of the plumage serve API the pages use. */
export interface TopClass {
  label: string;
  classIndex: number;
  probability: number;
}

export interface ModelInfo {
  id: string;
  architecture: string;
  inputSize: number;
  decodeSize: number;
  classes: string[];
  explain: boolean;
  tfjs: string | null;
}

export interface Explanation {
  top: TopClass[];
  heatmapPng?: string;
  inputPng?: string;
  timing: { totalMs: number; inferenceMs: number; batchSize: number };
}

async function json<T>(res: Response): Promise<T> {
  const body = (await res.json()) as T & { message?: string };
  if (!res.ok) throw new Error(body.message ?? `HTTP ${res.status}`);
  return body;
}

export async function getModel(): Promise<ModelInfo> {
  const { models } = await json<{ models: ModelInfo[] }>(await fetch('/v1/models'));
  return models[0]!;
}

/** Classifies one image on the server: Grad-CAM + top-5 when the model supports it, else top-5 only. */
export async function classifyOnServer(file: Blob, model: ModelInfo): Promise<Explanation> {
  const type = file.type || 'application/octet-stream';
  const res = await fetch(model.explain ? '/v1/explain?topk=5' : '/v1/predict?topk=5', { method: 'POST', headers: { 'content-type': type }, body: file });
  if (model.explain) return json<Explanation>(res);
  const r = await json<{ predictions: { top: TopClass[] }[]; timing: Explanation['timing'] }>(res);
  return { top: r.predictions[0]!.top, timing: r.timing };
}

export async function getJson<T>(url: string): Promise<T> {
  return json<T>(await fetch(url));
}
