/**
 * Zero-shot sanity check: the iNat-birds classifier's own head, restricted to the DACON species that exist
 * among its 965 labels, evaluated without any training.
 */
import { classificationReport } from '../eval/metrics.js';
import { type CacheOptions, type Label, loadPretrained } from '../weights/index.js';
import { loadRunData } from './data-split.js';
import { computeFeatures, type FeatureImage } from './features.js';

/** DACON birds25 species (common names as in classes.txt) -> Latin binomials, including older synonyms. */
export const SPECIES_LATIN: Record<string, string[]> = {
  'Asian Green Bee-Eater': ['Merops orientalis'],
  'Brown-Headed Barbet': ['Psilopogon zeylanicus', 'Megalaima zeylanica'],
  'Cattle Egret': ['Bubulcus ibis'],
  'Common Kingfisher': ['Alcedo atthis'],
  'Common Myna': ['Acridotheres tristis'],
  'Common Rosefinch': ['Carpodacus erythrinus'],
  'Common Tailorbird': ['Orthotomus sutorius'],
  'Coppersmith Barbet': ['Psilopogon haemacephalus', 'Megalaima haemacephala'],
  'Forest Wagtail': ['Dendronanthus indicus'],
  'Gray Wagtail': ['Motacilla cinerea'],
  Hoopoe: ['Upupa epops'],
  'House Crow': ['Corvus splendens'],
  'Indian Grey Hornbill': ['Ocyceros birostris'],
  'Indian Peacock': ['Pavo cristatus'],
  'Indian Pitta': ['Pitta brachyura'],
  'Indian Roller': ['Coracias benghalensis'],
  'Jungle Babbler': ['Argya striata', 'Turdoides striata'],
  'Northern Lapwing': ['Vanellus vanellus'],
  'Red-Wattled Lapwing': ['Vanellus indicus'],
  'Ruddy Shelduck': ['Tadorna ferruginea'],
  'Rufous Treepie': ['Dendrocitta vagabunda'],
  'Sarus Crane': ['Antigone antigone', 'Grus antigone'],
  'White Wagtail': ['Motacilla alba'],
  'White-Breasted Kingfisher': ['Halcyon smyrnensis'],
  'White-Breasted Waterhen': ['Amaurornis phoenicurus'],
};

function norm(s: string): string {
  return s.toLowerCase().replace(/grey/g, 'gray').replace(/[^a-z]/g, '');
}

/** Maps class names to label indices: by Latin name (table above), else by exact common name. */
export function mapSpecies(classes: string[], labels: Label[]): { classIndex: number; species: string; labelIndex: number; label: string }[] {
  const out: { classIndex: number; species: string; labelIndex: number; label: string }[] = [];
  classes.forEach((species, classIndex) => {
    const latin = (SPECIES_LATIN[species] ?? []).map(norm);
    let hit = labels.find((l) => l.latin && latin.includes(norm(l.latin)));
    if (!hit) hit = labels.find((l) => l.common && norm(l.common) === norm(species));
    if (hit) out.push({ classIndex, species, labelIndex: hit.index, label: hit.text });
  });
  return out;
}

export interface ZeroShotReport {
  backbone: string;
  mapped: { classIndex: number; species: string; labelIndex: number; label: string }[];
  images: number;
  macroF1: number;
  accuracy: number;
  perClass: { species: string; f1: number; support: number }[];
  seconds: number;
}

/**
 * Zero-shot Macro F1 over the mapped classes: images of those classes, prediction = argmax of the pretrained
 * head's logits restricted to the mapped labels. Uses `split.val` (any labelled image list works).
 */
export async function zeroShotReport(
  split: { classes: string[]; val: { images: FeatureImage[]; labels: number[] } },
  opts: { backbone?: string; inputSize?: number; cacheRoot?: string; weights?: CacheOptions; log?: (m: string) => void } = {},
): Promise<ZeroShotReport> {
  const t0 = performance.now();
  const id = opts.backbone ?? 'mobilenetv2-inat-birds';
  const bb = await loadPretrained(id, opts.weights);
  const mapped = mapSpecies(split.classes, bb.labels);
  if (mapped.length === 0) throw new Error(`zero-shot: none of the classes is among ${id}'s labels`);
  const keep = split.val.labels.map((l, i) => [l, i] as const).filter(([l]) => mapped.some((m) => m.classIndex === l));
  const images = keep.map(([, i]) => split.val.images[i]!);
  const res = opts.inputSize ?? 224;
  const f = await computeFeatures(images, { source: 'lr' }, { backboneId: id, graph: bb.graph, inputSize: res, cut: 'logits', cacheRoot: opts.cacheRoot });
  const yTrue: number[] = [];
  const yPred: number[] = [];
  keep.forEach(([l], i) => {
    let best = 0;
    for (let k = 1; k < mapped.length; k++) if (f.features[i * f.dim + mapped[k]!.labelIndex]! > f.features[i * f.dim + mapped[best]!.labelIndex]!) best = k;
    yTrue.push(mapped.findIndex((m) => m.classIndex === l));
    yPred.push(best);
  });
  const rep = classificationReport(yTrue, yPred, mapped.map((m) => m.species));
  return {
    backbone: id,
    mapped,
    images: images.length,
    macroF1: rep.macroF1,
    accuracy: rep.accuracy,
    perClass: rep.perClass.map((c) => ({ species: c.name, f1: c.f1, support: c.support })),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Zero-shot Macro F1 of the iNat-birds head on the DACON classes it knows (the seeded validation split of dataDir). */
export async function zeroShotOnDacon(dataDir: string, opts: { inputSize?: number; seed?: number; weights?: CacheOptions; cacheRoot?: string } = {}): Promise<ZeroShotReport> {
  const data = loadRunData({ data: dataDir, valFraction: 0.1, folds: 0, fold: 0, limit: 0, seed: opts.seed ?? 42, predictTest: false });
  const val = { images: data.val.samples.map((s) => ({ lr: s.path, hr: s.upscalePath })), labels: data.val.samples.map((s) => s.label!) };
  return zeroShotReport({ classes: data.classes, val }, opts);
}
