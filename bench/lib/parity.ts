/** TFLite import parity for bench/transfer.ts --parity: float rebuilds vs the uint8 reference interpreter. */
import fs from 'node:fs';
import path from 'node:path';
import { decodeImage } from '../../src/data/decode.js';
import { loadPretrained, projectRoot } from '../../src/weights/index.js';
import { checkParityVariants } from '../../src/weights/parity.js';

const root = projectRoot();
const INAT = 'mobilenetv2-inat-birds';
const IMNET = 'mobilenetv2-imagenet';

export async function parity(n: number, source: 'lr' | 'hr', log: (m: string) => void): Promise<string> {
  const data = path.resolve(root, '..', 'shared', 'data', 'birds25', source === 'hr' ? 'upscale_train' : 'train');
  const files = fs.readdirSync(data).sort().slice(0, n);
  const what = source === 'hr' ? 'their 256px copies resized to 224' : '64px upsampled to 224';
  const lines = [`## Float rebuild (plain, and with activations fake-quantized with TFLite's rounding) vs uint8 reference interpreter (${n} birds25 train images, ${what} with Lanczos-3; reference convolutions accumulated exactly with split-weight float32 convolutions, bit-identical to the plain integer loops)`, '', '| model | float variant | images | top-1 agreement (first tied maximum) | float top-1 among ref tied maxima | images with tied ref maxima | ref top-1 in float top-5 | top-1 agreement where ref top-1 prob >= 0.5 | mean max abs prob diff | max abs prob diff | mean abs diff of ref top-1 prob | embedding rel. L2 error | ref s/img |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const id of [INAT, IMNET]) {
    const bb = await loadPretrained(id);
    async function* imgs() {
      for (const f of files) yield decodeImage(fs.readFileSync(path.join(data, f)), 224, f);
    }
    const rs = await checkParityVariants(
      bb.graph,
      imgs(),
      (i) => {
        if (i % 10 === 0) log(`  parity ${id}: ${i}/${n}`);
      },
      { accelerate: true, variants: [false, true] },
    );
    for (const [k, r] of rs.entries()) {
    lines.push(`| ${id} | ${k ? 'fake-quantized (TFLite rounding)' : 'plain float32'} | ${r.images} | ${(100 * r.top1Agreement).toFixed(1)}% | **${(100 * r.top1AgreementTieAware).toFixed(1)}%** | ${r.refTiedTop} | ${(100 * r.refTop1InFloatTop5).toFixed(1)}% | ${(100 * r.confidentAgreement).toFixed(1)}% of ${r.confidentImages} | ${r.meanMaxProbDiff.toFixed(4)} | ${r.maxProbDiff.toFixed(4)} | ${r.meanTop1ProbDiff.toFixed(4)} | ${r.meanEmbeddingRelErr.toFixed(4)} | ${r.refSecondsPerImage.toFixed(2)} |`);
    log(lines[lines.length - 1]!);
    }
  }
  return lines.join('\n');
}

