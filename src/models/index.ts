import type * as tfl from '@tensorflow/tfjs-layers';
import { beitPresets, buildBeit } from './beit.js';
import { loadPretrained } from '../weights/index.js';
import { buildMobileNetV2, mobilenetv2Configs } from './mobilenetv2.js';
import { buildResNet, resnetConfigs } from './resnet.js';
import { buildSwinv2, swinv2Presets } from './swinv2.js';

/**
 * Architecture registry: every trainable model plumage knows, by name.
 * A builder gets the number of classes and the input size and returns a model whose output is logits.
 */
export interface ArchitectureSpec {
  description: string;
  /** Default input size in pixels (square). */
  inputSize: number;
  /** Input pixel range the model expects; the data pipeline produces float32 in [0, 1] and the model normalises itself. */
  build(opts: { numClasses: number; inputSize?: number; seed?: number }): tfl.LayersModel | Promise<tfl.LayersModel>;
}

const registry = new Map<string, ArchitectureSpec>();

export function registerArchitecture(name: string, spec: ArchitectureSpec): void {
  registry.set(name, spec);
}

export function getArchitecture(name: string): ArchitectureSpec {
  const spec = registry.get(name);
  if (!spec) throw new Error(`--model: unknown architecture '${name}' (known: ${[...registry.keys()].join(', ')})`);
  return spec;
}

export function listArchitectures(): [string, ArchitectureSpec][] {
  return [...registry.entries()];
}

for (const [name, cfg] of Object.entries(resnetConfigs)) {
  registerArchitecture(name, {
    description: `ResNet-style CNN, stages ${cfg.widths.join('/')}, depths ${cfg.depths.join('/')}`,
    inputSize: cfg.inputSize,
    build: ({ numClasses, inputSize, seed }) => buildResNet({ ...cfg, numClasses, inputSize: inputSize ?? cfg.inputSize, seed }),
  });
}

for (const [name, p] of Object.entries(swinv2Presets)) {
  const c = p.config;
  registerArchitecture(name, {
    description: `SwinV2 (HF-compatible), patch ${c.patch_size}, window ${c.window_size}, dim ${c.embed_dim}, depths ${c.depths.join('/')}${'hub' in p ? `; weights: ${p.hub.repo}` : ''}`,
    inputSize: c.image_size,
    build: ({ numClasses, inputSize }) => buildSwinv2(c, { numClasses, inputSize, normalize: p.normalize }),
  });
}

for (const [name, p] of Object.entries(beitPresets)) {
  const c = p.config;
  registerArchitecture(name, {
    description: `BEiT (HF-compatible), patch ${c.patch_size}, hidden ${c.hidden_size}, depth ${c.num_hidden_layers}${'hub' in p ? `; weights: ${p.hub.repo}` : ''}`,
    inputSize: c.image_size,
    build: ({ numClasses, inputSize }) => buildBeit(c, { numClasses, inputSize, normalize: p.normalize }),
  });
}

for (const [name, cfg] of Object.entries(mobilenetv2Configs)) {
  registerArchitecture(name, {
    description: `${cfg.description}; weights: ${cfg.weights}`,
    inputSize: cfg.inputSize,
    build: async ({ numClasses, inputSize }) => buildMobileNetV2(cfg, { numClasses, inputSize, graph: (await loadPretrained(cfg.weights)).graph }),
  });
}
