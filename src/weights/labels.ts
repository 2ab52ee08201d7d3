/** Label files of the pretrained models. */

export interface Label {
  index: number;
  /** The full line. */
  text: string;
  /** iNat labels: Latin binomial and common name. */
  latin?: string;
  common?: string;
}

/** Parses a labels file: one label per line, line number = output index. iNat lines read "Latin name (Common Name)". */
export function parseLabels(text: string, format: 'inat' | 'plain' = 'plain'): Label[] {
  const lines = text.replace(/\r/g, '').split('\n');
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, index) => {
    const l: Label = { index, text: line.trim() };
    if (format === 'inat') {
      const m = /^(.*?)\s*\((.*)\)\s*$/.exec(l.text);
      if (m) {
        l.latin = m[1]!;
        l.common = m[2]!;
      }
    }
    return l;
  });
}
