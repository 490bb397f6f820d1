/**
 * The shared formatter: builds XML text the way libvirt's virBuffer does — two spaces per
 * level, attributes in single quotes, `<x/>` for empty elements — and escapes text and
 * attribute values exactly like virBufferEscapeString (`<`, `>`, `&`, `"`, `'` as entities;
 * other control characters except tab/newline/CR are dropped).
 *
 * Hot path of formatDomainXML: everything appends to one string (V8 ropes make `+=`
 * cheap), no intermediate arrays or objects per element. Callers build an element's
 * attribute string with `attr()` and decide empty vs. open/close themselves, as libvirt's
 * virXMLFormatElement does.
 * Also writes verbatim elements (XmlElement) in the quoting libvirt uses for them.
 */

import type { XmlElement } from '../types.js';

const ESC_TEST = /[<>&"'\u0000-\u0008\u000b\u000c\u000e-\u001f]/;
const ESC_ALL = /[<>&"'\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;
const ESC_MAP: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' };

/** virBufferEscapeString. */
export function esc(s: string): string {
  if (!ESC_TEST.test(s)) return s;
  return s.replace(ESC_ALL, (c) => ESC_MAP[c] ?? '');
}

/** ` name='value'` (escaped), or '' when value is undefined. */
export function attr(name: string, value: string | number | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'number' ? ` ${name}='${value}'` : ` ${name}='${esc(value)}'`;
}

/** Indentation strings, cached per depth. */
const INDENTS: string[] = [''];
export function indent(depth: number): string {
  let s = INDENTS[depth];
  if (s === undefined) {
    for (let d = INDENTS.length; d <= depth; d++) INDENTS[d] = '  '.repeat(d);
    s = INDENTS[depth]!;
  }
  return s;
}

/** Output buffer with a current depth. */
export class Writer {
  out = '';
  depth = 0;

  /** One line at the current depth. */
  line(s: string): void {
    this.out += indent(this.depth) + s + '\n';
  }

  /** `<name attrs/>`. */
  empty(name: string, attrs: string): void {
    this.out += indent(this.depth) + '<' + name + attrs + '/>\n';
  }

  /** `<name attrs>text</name>` (text escaped). */
  textElem(name: string, attrs: string, text: string): void {
    this.out += indent(this.depth) + '<' + name + attrs + '>' + esc(text) + '</' + name + '>\n';
  }

  /** `<name attrs>` and one level deeper. */
  open(name: string, attrs: string): void {
    this.out += indent(this.depth) + '<' + name + attrs + '>\n';
    this.depth++;
  }

  /** One level up and `</name>`. */
  close(name: string): void {
    this.depth--;
    this.out += indent(this.depth) + '</' + name + '>\n';
  }

  /**
   * Writes an element whose children are produced by `body`, like libvirt's
   * virXMLFormatElement: nothing at all when there are neither attributes nor children,
   * `<name attrs/>` when only attributes, else open/body/close.
   */
  elem(name: string, attrs: string, body: (w: Writer) => void): void {
    const mark = this.out;
    const start = indent(this.depth) + '<' + name + attrs;
    this.out += start + '>\n';
    const before = this.out.length;
    this.depth++;
    body(this);
    this.depth--;
    if (this.out.length === before) {
      this.out = attrs === '' ? mark : mark + start + '/>\n';
    } else {
      this.out += indent(this.depth) + '</' + name + '>\n';
    }
  }

  /** A verbatim element in libvirt's own quoting (single quotes). */
  raw(el: XmlElement): void {
    writeVerbatim(this, el, "'");
  }
}

function escAttrDq(s: string): string {
  // libxml2 xmlNodeDump attribute escaping: <, >, &, ", and newline/tab/CR as char refs.
  return s.replace(/[<>&"\n\r\t]/g, (c) =>
    c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : c === '\n' ? '&#10;' : c === '\r' ? '&#13;' : '&#9;',
  );
}

function escTextDump(s: string): string {
  // libxml2 text escaping: <, >, & and CR.
  return s.replace(/[<>&\r]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : '&#13;'));
}

/**
 * Writes a verbatim element. With quote `"` it reproduces libxml2's xmlNodeDump with
 * formatting (how libvirt writes `<metadata>` content): elements that contain text are
 * written on one line, elements with only element children are indented.
 */
export function writeVerbatim(w: Writer, el: XmlElement, quote: "'" | '"'): void {
  w.out += indent(w.depth);
  inlineOrBlock(w, el, quote);
  w.out += '\n';
}

function attrsOf(el: XmlElement, quote: "'" | '"'): string {
  let s = '';
  for (const [k, v] of el.attrs) s += quote === '"' ? ` ${k}="${escAttrDq(v)}"` : ` ${k}='${esc(v)}'`;
  return s;
}

function inlineOrBlock(w: Writer, el: XmlElement, quote: "'" | '"'): void {
  const a = attrsOf(el, quote);
  if (el.children.length === 0) {
    w.out += '<' + el.name + a + '/>';
    return;
  }
  const hasText = el.children.some((c) => typeof c === 'string');
  if (hasText) {
    w.out += '<' + el.name + a + '>';
    for (const c of el.children) {
      if (typeof c === 'string') w.out += quote === '"' ? escTextDump(c) : esc(c);
      else inlineOrBlock(w, c, quote);
    }
    w.out += '</' + el.name + '>';
    return;
  }
  w.out += '<' + el.name + a + '>\n';
  w.depth++;
  for (const c of el.children) {
    w.out += indent(w.depth);
    inlineOrBlock(w, c as XmlElement, quote);
    w.out += '\n';
  }
  w.depth--;
  w.out += indent(w.depth) + '</' + el.name + '>';
}
