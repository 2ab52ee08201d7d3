/**
 * Registry of pretrained artifacts plumage can use: each has an id, upstream URL, SHA-256, license and format.
 * Files are never committed; they are pulled into a cache (see cache.ts) or found in an already-filled folder.
 */

export type ArtifactFormat = 'tflite' | 'labels';

export interface Artifact {
  id: string;
  description: string;
  format: ArtifactFormat;
  /** Path relative to a models folder (the layout of the upstream mirror, e.g. `coral/<file>`). */
  relPath: string;
  url: string;
  sha256: string;
  size: number;
  license: string;
  /** tflite models: the labels artifact id and the model facts. */
  labels?: string;
  inputSize?: number;
  numOutputs?: number;
  /** How to read a label line (see labels.ts). */
  labelFormat?: 'inat' | 'plain';
}

const CORAL_COMMIT = '104342d2d3480b3e66203073dac24f4e2dbb4c41';
const coralUrl = (file: string) => `https://github.com/google-coral/test_data/raw/${CORAL_COMMIT}/${file}`;
const CORAL_LICENSE = 'Apache-2.0 (google-coral/test_data)';

export const ARTIFACTS: Artifact[] = [
  {
    id: 'mobilenetv2-inat-birds',
    description: 'MobileNetV2 1.0/224, uint8 quantized, iNaturalist 2017 birds (965 outputs, 964 = background)',
    format: 'tflite',
    relPath: 'coral/mobilenet_v2_1.0_224_inat_bird_quant.tflite',
    url: coralUrl('mobilenet_v2_1.0_224_inat_bird_quant.tflite'),
    sha256: '350fcd8cf1df1560060d464595dfed8b174b05792788052896004848d9ad04f9',
    size: 3579500,
    license: CORAL_LICENSE,
    labels: 'inat-bird-labels',
    inputSize: 224,
    numOutputs: 965,
  },
  {
    id: 'mobilenetv2-imagenet',
    description: 'MobileNetV2 1.0/224, uint8 quantized, ImageNet-1k (1001 outputs, 0 = background)',
    format: 'tflite',
    relPath: 'coral/mobilenet_v2_1.0_224_quant.tflite',
    url: coralUrl('mobilenet_v2_1.0_224_quant.tflite'),
    sha256: '7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776',
    size: 3610798,
    license: CORAL_LICENSE,
    labels: 'imagenet-labels',
    inputSize: 224,
    numOutputs: 1001,
  },
  {
    id: 'inat-bird-labels',
    description: 'Labels of mobilenetv2-inat-birds: "index  Latin name (Common Name)" lines',
    format: 'labels',
    relPath: 'coral/inat_bird_labels.txt',
    url: coralUrl('inat_bird_labels.txt'),
    sha256: 'a16108dfe3f8daff015b87a97ab6a17e717b9b1bccd719f6d8f747746d7b9277',
    size: 37146,
    license: CORAL_LICENSE,
    labelFormat: 'inat',
  },
  {
    id: 'imagenet-labels',
    description: 'Labels of mobilenetv2-imagenet',
    format: 'labels',
    relPath: 'coral/imagenet_labels.txt',
    url: coralUrl('imagenet_labels.txt'),
    sha256: 'b8aaeb5630c62626a7d124a05c0e14230a7ffdd2136a31d0190a4fb71c1d82f1',
    size: 21686,
    license: CORAL_LICENSE,
    labelFormat: 'plain',
  },
];

export function listArtifacts(): Artifact[] {
  return [...ARTIFACTS];
}

export function getArtifact(id: string, registry: Artifact[] = ARTIFACTS): Artifact {
  const a = registry.find((x) => x.id === id);
  if (!a) throw new Error(`unknown pretrained model '${id}' (known: ${registry.map((x) => x.id).join(', ')})`);
  return a;
}

/** Ids of the pretrained backbones (tflite models). */
export const BACKBONE_IDS = ARTIFACTS.filter((a) => a.format === 'tflite').map((a) => a.id);
