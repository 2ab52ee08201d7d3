/**
 * The architecture registry's resolver for names that are not presets: a hub id (`ORG/NAME`, `hf:ORG/NAME`,
 * `@REVISION`) or a local folder with config.json + weights. The spec's input size is the checkpoint's image_size;
 * `build()` fetches the weights through the hub cache, builds the model from config.json, loads every backbone
 * weight and gives it a new classifier for the dataset's classes (kept when the class count already matches).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { readConfigSync } from '../hub/config-sync.js';
import { modelFiles } from '../hub/model-files.js';
import { formatModelRef, parseModelRef, type ModelRef } from '../hub/model-ref.js';
import { UserError } from '../util/errors.js';
import { loadHfCheckpoint } from '../weights/load-hf-checkpoint.js';
import { PickleFormatError, PickleSecurityError } from '../weights/pickle.js';
import { SafetensorsError } from '../weights/safetensors.js';
import { openWeights } from '../weights/open-weights.js';
import { buildFromHfConfig, hfConfigFacts } from './hf-config-model.js';
import type { ArchitectureSpec, BuildOptions } from './architecture.js';

export interface HubArchitectureSpec extends ArchitectureSpec {
  ref: ModelRef;
  /**
   * After a build from the hub: `hf:ORG/NAME@<commit>`, the name that rebuilds exactly this checkpoint (for run
   * metadata, so `predict` does not follow a moved branch). The folder path for local folders.
   */
  pinnedName?: string;
}

/** Builds (and loads) the model of a reference; `pretrained: false` skips the weights (e.g. a checkpoint will overwrite them). */
export async function buildHubModel(ref: ModelRef, opts: BuildOptions, log: (m: string) => void = (m) => console.error(m), onFiles?: (commit: string | null) => void): Promise<tfl.LayersModel> {
  const files = await modelFiles(ref, { log, configOnly: opts.pretrained === false });
  onFiles?.(files.commit);
  const where = ref.kind === 'folder' ? ref.dir : `${ref.repo}@${files.commit}`;
  const { model, facts } = buildFromHfConfig(files.config, files.configPath, { numClasses: opts.numClasses, inputSize: opts.inputSize, dropPathRate: opts.dropPathRate });
  if (opts.pretrained === false) return model;
  let src: Awaited<ReturnType<typeof openWeights>> | null = null;
  try {
    src = await openWeights(files.format, files.weights, files.index);
    const r = await loadHfCheckpoint(model, src, facts.modelType, opts.numClasses);
    const fresh = r.skipped.length ? `; trained from scratch: ${r.skipped.join(', ')}` : '';
    const unused = r.unused.length ? `; not used: ${r.unused.length} tensors (${r.unused.slice(0, 3).join(', ')}${r.unused.length > 3 ? ', ...' : ''})` : '';
    log(`hub: ${where}: ${facts.modelType}, ${r.loaded.length} tensors loaded from ${files.weights.length} ${files.format} file(s)${fresh}${unused}`);
  } catch (err) {
    model.dispose();
    // Checkpoint problems (missing/mismatched weights, a refused pickle) are the input's fault: report them plainly.
    if (err instanceof SafetensorsError || err instanceof PickleSecurityError || err instanceof PickleFormatError) throw new UserError(`${where}: ${err.message}`);
    throw err;
  } finally {
    await src?.close();
  }
  return model;
}

/** The registry entry for a hub id or model folder; null when `name` is neither. */
export function hubArchitecture(name: string): HubArchitectureSpec | null {
  const ref = parseModelRef(name);
  if (!ref) return null;
  const { config, source } = readConfigSync(ref);
  const facts = hfConfigFacts(config, source);
  const spec: HubArchitectureSpec = {
    ref,
    description: `${facts.modelType} from ${formatModelRef(ref)} (${facts.depth} blocks, patch ${facts.patchSize}, ${facts.numLabels} labels, drop_path_rate ${facts.dropPathRate})`,
    inputSize: facts.imageSize,
    build: (opts) =>
      buildHubModel(ref, opts, undefined, (commit) => {
        spec.pinnedName = ref.kind === 'folder' ? ref.dir : `hf:${ref.repo}@${commit}`;
      }),
  };
  return spec;
}
