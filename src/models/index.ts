import type * as tfl from '@tensorflow/tfjs-layers';
import { beitPresets, buildBeit } from './beit.js';
import { loadPretrained } from '../weights/index.js';
import { buildMobileNetV2, mobilenetv2Configs } from './mobilenetv2.js';
import { buildResNet, resnetConfigs } from './resnet.js';
import { buildSwinv2, swinv2Presets } from './swinv2.js';
import { hubArchitecture } from './hub-architecture.js';
import { UserError } from '../util/errors.js';
import type { ArchitectureSpec } from './architecture.js';

/**
 * Architecture registry: every trainable model plumage knows, by name.
 * A builder gets the number of classes and the input size and returns a model whose output is logits.
 */
export type { ArchitectureSpec, BuildOptions } from './architecture.js';

const registry = new Map<string, ArchitectureSpec>();
/** Specs made by the resolver, memoised per name for the process (config.json is read once). */
const resolved = new Map<string, ArchitectureSpec>();

export function registerArchitecture(name: string, spec: ArchitectureSpec): void {
  registry.set(name, spec);
}

/**
 * A registered preset by name; otherwise a Hugging Face model by hub id (`ORG/NAME`, `hf:ORG/NAME`, `@REVISION`) or a
 * local folder with config.json + weights (src/models/hub-architecture.ts).
 */
export function getArchitecture(name: string): ArchitectureSpec {
  const spec = registry.get(name) ?? resolved.get(name);
  if (spec) return spec;
  const hub = hubArchitecture(name);
  if (!hub) throw new UserError(`--model: unknown architecture '${name}' (known: ${[...registry.keys()].join(', ')}; or a hub id ORG/NAME[@REVISION], hf:ORG/NAME, or a folder with config.json)`);
  resolved.set(name, hub);
  return hub;
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
    build: ({ numClasses, inputSize, dropPathRate }) => buildSwinv2(c, { numClasses, inputSize, dropPathRate, normalize: p.normalize }),
  });
}

for (const [name, p] of Object.entries(beitPresets)) {
  const c = p.config;
  registerArchitecture(name, {
    description: `BEiT (HF-compatible), patch ${c.patch_size}, hidden ${c.hidden_size}, depth ${c.num_hidden_layers}${'hub' in p ? `; weights: ${p.hub.repo}` : ''}`,
    inputSize: c.image_size,
    build: ({ numClasses, inputSize, dropPathRate }) => buildBeit(c, { numClasses, inputSize, dropPathRate, normalize: p.normalize }),
  });
}

for (const [name, cfg] of Object.entries(mobilenetv2Configs)) {
  registerArchitecture(name, {
    description: `${cfg.description}; weights: ${cfg.weights}`,
    inputSize: cfg.inputSize,
    build: async ({ numClasses, inputSize }) => buildMobileNetV2(cfg, { numClasses, inputSize, graph: (await loadPretrained(cfg.weights)).graph }),
  });
}
