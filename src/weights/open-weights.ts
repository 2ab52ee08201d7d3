/** Opens a checkpoint's weights as one TensorSource, whatever the format: safetensors or PyTorch, single or sharded. */
import { SafetensorsFile } from './safetensors.js';
import { mergedSource, safetensorsSource, type TensorSource } from './tensor-source.js';
import { openTorchCheckpoint } from './torch-checkpoint.js';

export type WeightsFormat = 'safetensors' | 'pytorch';

export async function openWeights(format: WeightsFormat, files: string[], index?: string): Promise<TensorSource> {
  const parts: TensorSource[] = [];
  try {
    for (const f of files) parts.push(format === 'safetensors' ? safetensorsSource(await SafetensorsFile.open(f)) : await openTorchCheckpoint(f));
  } catch (err) {
    for (const p of parts) await p.close();
    throw err;
  }
  return parts.length === 1 && !index ? parts[0]! : mergedSource(index ?? files[0]!, parts);
}

/** The format a weights file name implies. */
export function formatOf(file: string): WeightsFormat {
  return /\.safetensors(\.index\.json)?$/.test(file) ? 'safetensors' : 'pytorch';
}
