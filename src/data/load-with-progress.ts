import cliProgress from 'cli-progress';
import { loadImages, PixelCache } from './pixel-cache.js';

/** Decodes (or reads from the pixel cache) a list of images with a progress bar on stderr. */
export async function loadImagesWithProgress(files: string[], size: number, label: string, quiet = false, cache = new PixelCache()): Promise<Uint8Array[]> {
  const bar = new cliProgress.SingleBar(
    { format: `${label} |{bar}| {value}/{total} images | ETA {eta_formatted}`, barsize: 24, stream: process.stderr, noTTYOutput: !quiet, notTTYSchedule: 15000 },
    cliProgress.Presets.shades_classic,
  );
  if (!quiet) bar.start(files.length, 0);
  const out = await loadImages(files, size, cache, (done) => {
    if (!quiet && (done % 64 === 0 || done === files.length)) bar.update(done);
  });
  if (!quiet) bar.stop();
  return out;
}
