/** A download progress bar on stderr (bytes, rate, ETA); silent when stderr is not a terminal except for one line per file. */
import cliProgress from 'cli-progress';

export interface ByteProgress {
  update(bytes: number): void;
  stop(): void;
}

const mib = (n: number) => (n / 2 ** 20).toFixed(1);

export function byteProgress(label: string, total: number, start: number, log: (m: string) => void): ByteProgress {
  if (!process.stderr.isTTY) {
    log(`hub: downloading ${label} (${mib(total)} MiB${start > 0 ? `, resuming at ${mib(start)} MiB` : ''})`);
    return { update: () => {}, stop: () => {} };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} |{bar}| {percentage}% | {mib}/{totalMib} MiB | {rate} MiB/s | ETA {eta_formatted}`, barsize: 24, stream: process.stderr, hideCursor: false, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  const t0 = Date.now();
  bar.start(Math.max(total, 1), start, { mib: mib(start), totalMib: mib(total), rate: '-' });
  return {
    update: (bytes) => bar.update(bytes, { mib: mib(bytes), rate: ((bytes - start) / 2 ** 20 / Math.max((Date.now() - t0) / 1000, 1e-3)).toFixed(1) }),
    stop: () => bar.stop(),
  };
}
