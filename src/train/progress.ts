import cliProgress from 'cli-progress';

/** A progress bar on stderr with ETA, images/s, running loss and the last validation F1. */
export class TrainProgress {
  private readonly bar: cliProgress.SingleBar;
  private started = 0;
  private images = 0;
  constructor(private readonly label: string, enabled = true) {
    this.bar = new cliProgress.SingleBar(
      {
        format: `${label} {epoch} |{bar}| {value}/{total} steps | ETA {eta_formatted} | {rate} img/s | loss {loss} | lr {lr} | val F1 {f1}`,
        barsize: 24,
        etaBuffer: 20,
        noTTYOutput: enabled,
        notTTYSchedule: 15000,
        stream: process.stderr,
        hideCursor: false,
      },
      cliProgress.Presets.shades_classic,
    );
    if (!enabled) this.bar = new cliProgress.SingleBar({ stream: { write: () => true, isTTY: false } as unknown as NodeJS.WritableStream, noTTYOutput: false });
  }
  startEpoch(epoch: string, totalSteps: number, lastF1: string): void {
    this.started = Date.now();
    this.images = 0;
    this.bar.start(totalSteps, 0, { epoch, rate: '-', loss: '-', lr: '-', f1: lastF1 });
  }
  step(images: number, loss: number, lr: number): void {
    this.images += images;
    const secs = (Date.now() - this.started) / 1000;
    this.bar.increment(1, { rate: (this.images / Math.max(secs, 1e-3)).toFixed(1), loss: loss.toFixed(4), lr: lr.toExponential(2) });
  }
  endEpoch(f1: string): void {
    this.bar.update({ f1 });
    this.bar.stop();
  }
  get imagesPerSecond(): number {
    return this.images / Math.max((Date.now() - this.started) / 1000, 1e-3);
  }
}
