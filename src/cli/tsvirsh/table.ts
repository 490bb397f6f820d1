/**
 * virsh's table printer (tools/vsh-table.c): a header row, a dividing line of dashes, and
 * rows whose cells are left-aligned, each preceded by one space and separated by padding
 * so that columns line up (width + 2 after every cell but the last). Control characters in
 * cells are shown as \xNN (counted 4 columns), wide characters by their display width.
 * In quiet mode (-q) the header and the line are left out and widths ignore the header.
 */

function cellText(s: string): { text: string; width: number } {
  let text = '';
  let width = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const c = ch.charCodeAt(0);
    if (c < 0x20 || c === 0x7f || (ch === '\\' && s[i + 1] === 'x')) {
      text += `\\x${c.toString(16).padStart(2, '0')}`;
      width += 4;
      continue;
    }
    const cp = s.codePointAt(i)!;
    if (cp > 0xffff) i++;
    text += String.fromCodePoint(cp);
    width += charWidth(cp);
  }
  return { text, width };
}

/** Display width of a code point (East Asian wide/fullwidth = 2, combining marks = 0). */
function charWidth(cp: number): number {
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

export function formatTable(header: string[], rows: string[][], withHeader: boolean): string {
  const all = [header, ...rows].map((r) => r.map(cellText));
  const widths = header.map(() => 0);
  for (let r = withHeader ? 0 : 1; r < all.length; r++) {
    all[r]!.forEach((c, i) => (widths[i] = Math.max(widths[i]!, c.width)));
  }
  const line = (cells: Array<{ text: string; width: number }>) =>
    cells.map((c, i) => ` ${c.text}${i < cells.length - 1 ? ' '.repeat(widths[i]! - c.width + 2) : ''}`).join('') + '\n';
  let out = '';
  if (withHeader) {
    out += line(all[0]!);
    out += widths.map((w) => '-'.repeat(w + 3)).join('') + '\n';
  }
  for (let r = 1; r < all.length; r++) out += line(all[r]!);
  return out;
}
