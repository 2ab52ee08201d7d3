/** One image of a dataset. `label` is a class index into Dataset.classes (undefined for unlabelled test images). */
export interface ImageSample {
  id: string;
  path: string;
  /** The 256px copy of a DACON training image, when the dataset has one. */
  upscalePath?: string;
  label?: number;
}

export interface Dataset {
  /** Where the dataset came from (CSV path or folder), for messages. */
  source: string;
  classes: string[];
  samples: ImageSample[];
}

export function labelsOf(ds: Dataset): number[] {
  return ds.samples.map((s, i) => {
    if (s.label === undefined) throw new Error(`${ds.source}: sample ${i} (${s.id}) has no label`);
    return s.label;
  });
}

export function subset(ds: Dataset, indices: number[]): Dataset {
  return { ...ds, samples: indices.map((i) => ds.samples[i]!) };
}
