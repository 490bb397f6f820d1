/**
 * Text → element tree: the one place that calls fast-xml-parser, with the guards that make
 * hostile input safe, and the accessors the family parsers use on the resulting nodes.
 *
 * What it does:
 * - refuses input that is too large, entity declarations that are external, parametric or
 *   recursive (no "billion laughs": an entity value may not reference another entity),
 *   undefined entity references and invalid character references — each with line/column;
 * - checks well-formedness in one linear pass (wellformed.ts; line/column on failure),
 *   including exactly one root element — fast-xml-parser itself is lenient;
 * - parses with `preserveOrder` (document order matters for `<metadata>`, disks, boot
 *   entries, verbatim elements) and entity processing off: entities are decoded here, only
 *   in the values actually read, after the guard has proven every reference valid.
 * What it does not: interpret any libvirt element (see ../domain/).
 * Errors: malformed XML → VIR_ERR_XML_DETAIL in VIR_FROM_DOMAIN with libvirt's message shape
 * "(domain_definition):LINE:COL: what\n<source line>\n----^" (libvirt prints the same minus
 * the column), carrying `line`/`column`.
 * Time: every pass is linear in the input; nesting is capped (wellformed.ts MAX_DEPTH)
 * so the recursive walks that follow have bounded stack.
 */

import { XMLParser } from 'fast-xml-parser';
import { MAX_DEPTH, type WellFormedInfo, checkWellFormed } from './wellformed.js';
import { VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, VirError } from '../errors.js';
import type { XmlElement } from '../types.js';

/** Largest document accepted (libvirt's own limit for XML files is 10 MiB, VIR_XML_MAX). */
export const MAX_DOCUMENT_CHARS = 10 * 1024 * 1024;
/** Internal entities accepted in a DOCTYPE, and the size of each value. */
const MAX_ENTITIES = 64;
const MAX_ENTITY_VALUE = 4096;

/** A node of fast-xml-parser's preserveOrder output. */
export type FxNode = Record<string, unknown>;

/** Error with position, shaped like libvirt's report of a libxml2 failure. */
export class XmlSyntaxError extends VirError {
  readonly line: number;
  readonly column: number;
  constructor(what: string, text: string, line: number, column: number, docName: string) {
    const lines = text.split('\n', line);
    const src = (lines[line - 1] ?? '').replace(/\r$/, '').slice(0, 200);
    const caret = '-'.repeat(Math.max(0, Math.min(column - 1, 200))) + '^';
    super(VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, `(${docName}):${line}:${column}: ${what}\n${src}\n${caret}`);
    this.line = line;
    this.column = column;
  }
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: false,
  htmlEntities: false,
  jPath: false,
  maxNestedTags: MAX_DEPTH,
  // CDATA stays a separate node: its text is literal, never entity-decoded
  cdataPropName: '#cdata',
});

/** Entities every XML document has. */
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** The parsed document: its root node and the entity table values are decoded with. */
export interface XmlDocument {
  root: FxNode;
  rootName: string;
  /** How values are decoded (shared by every Elem of the document). */
  ctx: DocContext;
}

/** Per-document decoding facts: declared entities, and whether any decoding is needed. */
export interface DocContext {
  entities: Record<string, string> | null;
  /** The text has a '&' somewhere: values may hold references. */
  hasRefs: boolean;
  /** Some attribute value holds tab/newline/CR (XML attribute normalisation needed). */
  attrWhitespace: boolean;
}

function lineCol(text: string, index: number): [number, number] {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return [line, index - start + 1];
}

function failAt(text: string, index: number, what: string, docName: string): never {
  const [line, col] = lineCol(text, index);
  throw new XmlSyntaxError(what, text, line, col, docName);
}

/** XML 1.0 Char production. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

const NAME_RE = /^[A-Za-z_:][\w.:-]*$/;

/**
 * Reads and removes a DOCTYPE. Only internal general entities with literal values are
 * allowed; the DOCTYPE is replaced by spaces (newlines kept) so positions stay exact.
 */
function stripDoctype(text: string, at: number, docName: string): { text: string; entities: Record<string, string> } {
  const entities: Record<string, string> = Object.create(null) as Record<string, string>;
  let i = at + 9; // after '<!DOCTYPE'
  const n = text.length;
  let end = -1;
  let count = 0;
  while (i < n) {
    const c = text[i];
    if (c === '>') {
      end = i;
      break;
    }
    if (c === '[') {
      i++;
      // internal subset
      while (i < n) {
        while (i < n && /\s/.test(text[i]!)) i++;
        if (text[i] === ']') {
          i++;
          break;
        }
        if (text.startsWith('<!--', i)) {
          const e = text.indexOf('-->', i + 4);
          if (e < 0) failAt(text, i, 'unterminated comment in DOCTYPE', docName);
          i = e + 3;
          continue;
        }
        if (text.startsWith('<!ENTITY', i)) {
          const declStart = i;
          i += 8;
          while (i < n && /\s/.test(text[i]!)) i++;
          if (text[i] === '%') failAt(text, declStart, 'parameter entities are not allowed', docName);
          const nm = /^[A-Za-z_][\w.-]*/.exec(text.slice(i, i + 256));
          if (!nm) failAt(text, i, 'invalid entity name in DOCTYPE', docName);
          const name = nm[0];
          i += name.length;
          while (i < n && /\s/.test(text[i]!)) i++;
          const q = text[i];
          if (q !== '"' && q !== "'") {
            failAt(text, declStart, `external entity '${name}' is not allowed (only internal entities with a literal value)`, docName);
          }
          const close = text.indexOf(q, i + 1);
          if (close < 0) failAt(text, i, `unterminated value of entity '${name}'`, docName);
          const value = text.slice(i + 1, close);
          if (value.length > MAX_ENTITY_VALUE) failAt(text, i, `value of entity '${name}' is too long`, docName);
          if (value.includes('&') || value.includes('%') || value.includes('<')) {
            failAt(text, i, `entity '${name}' may not reference other entities or contain markup`, docName);
          }
          i = close + 1;
          while (i < n && /\s/.test(text[i]!)) i++;
          if (text[i] !== '>') failAt(text, i, `malformed declaration of entity '${name}'`, docName);
          i++;
          if (++count > MAX_ENTITIES) failAt(text, declStart, `more than ${MAX_ENTITIES} entities declared`, docName);
          if (!(name in entities) && !(name in PREDEFINED)) entities[name] = value;
          continue;
        }
        if (text.startsWith('<!', i) || text.startsWith('<?', i)) {
          failAt(text, i, 'only internal entity declarations are allowed in a DOCTYPE', docName);
        }
        failAt(text, i, 'malformed DOCTYPE internal subset', docName);
      }
      continue;
    }
    if ((c === 'S' && text.startsWith('SYSTEM', i)) || (c === 'P' && text.startsWith('PUBLIC', i))) {
      failAt(text, i, 'external DTDs are not allowed', docName);
    }
    i++;
  }
  if (end < 0) failAt(text, at, 'unterminated DOCTYPE', docName);
  const blank = text.slice(at, end + 1).replace(/[^\n]/g, ' ');
  return { text: text.slice(0, at) + blank + text.slice(end + 1), entities };
}

/**
 * Checks every '&' starts a valid reference: predefined, declared, or a character reference
 * to a legal XML character. Linear: one indexOf walk.
 */
function checkReferences(text: string, entities: Record<string, string> | null, docName: string): void {
  // '&' inside CDATA sections, comments and processing instructions is literal
  const skips: Array<[number, number]> = [];
  for (let m = text.indexOf('<!', 0); m !== -1; m = text.indexOf('<!', m + 2)) {
    if (text.startsWith('<![CDATA[', m)) {
      const e = text.indexOf(']]>', m + 9);
      if (e === -1) break;
      skips.push([m, e + 3]);
      m = e;
    } else if (text.startsWith('<!--', m)) {
      const e = text.indexOf('-->', m + 4);
      if (e === -1) break;
      skips.push([m, e + 3]);
      m = e;
    }
  }
  for (let m = text.indexOf('<?', 0); m !== -1; m = text.indexOf('<?', m + 2)) {
    const e = text.indexOf('?>', m + 2);
    if (e === -1) break;
    skips.push([m, e + 2]);
    m = e;
  }
  skips.sort((a, b) => a[0] - b[0]);
  let k = 0;
  let i = text.indexOf('&');
  while (i !== -1) {
    while (k < skips.length && skips[k]![1] <= i) k++;
    if (k < skips.length && skips[k]![0] <= i) {
      i = text.indexOf('&', skips[k]![1]);
      continue;
    }
    const semi = text.indexOf(';', i + 1);
    if (semi < 0 || semi - i > 40) failAt(text, i, "'&' must start an entity or character reference (write &amp;)", docName);
    const ref = text.slice(i + 1, semi);
    if (ref.charCodeAt(0) === 35 /* # */) {
      const hex = ref[1] === 'x';
      const digits = ref.slice(hex ? 2 : 1);
      if (!(hex ? /^[0-9a-fA-F]{1,8}$/ : /^[0-9]{1,10}$/).test(digits)) failAt(text, i, `invalid character reference '&${ref};'`, docName);
      if (!isXmlChar(parseInt(digits, hex ? 16 : 10))) failAt(text, i, `character reference '&${ref};' is not a legal XML character`, docName);
    } else if (!(ref in PREDEFINED) && !(entities !== null && ref in entities)) {
      if (!NAME_RE.test(ref)) failAt(text, i, "'&' must start an entity or character reference (write &amp;)", docName);
      failAt(text, i, `entity '${ref}' not defined`, docName);
    }
    i = text.indexOf('&', semi + 1);
  }
}

/** Rejects control characters that are not XML characters (libxml2 does the same). */
function checkChars(text: string, docName: string): void {
  // Fast path: a single regex test over the whole text.
  const bad = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.exec(text);
  if (bad) failAt(text, bad.index, `invalid character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} in document`, docName);
}

/**
 * Parses `text` into a document, or throws an XmlSyntaxError / VirError.
 * `docName` is what libvirt calls the document in messages (`domain_definition`).
 */
export function parseXmlDocument(text: string, docName: string): XmlDocument {
  if (typeof text !== 'string') {
    throw new VirError(VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, `(${docName}): expected XML text, got ${typeof text}`);
  }
  if (text.length > MAX_DOCUMENT_CHARS) {
    throw new VirError(VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, `(${docName}): document of ${text.length} characters exceeds the ${MAX_DOCUMENT_CHARS} limit`);
  }
  checkChars(text, docName);
  let entities: Record<string, string> | null = null;
  const dt = text.indexOf('<!DOCTYPE');
  if (dt !== -1) {
    const r = stripDoctype(text, dt, docName);
    text = r.text;
    entities = r.entities;
  }
  if (text.indexOf('<!ENTITY') !== -1) failAt(text, text.indexOf('<!ENTITY'), 'entity declaration outside a DOCTYPE', docName);
  if (text.indexOf('&') !== -1) checkReferences(text, entities, docName);

  const info: WellFormedInfo = { attrWhitespace: false };
  const wf = checkWellFormed(text, info);
  if (wf !== null) failAt(text, wf.index, wf.message, docName);
  let nodes: FxNode[];
  try {
    nodes = parser.parse(text) as FxNode[];
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new VirError(VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, `(${docName}): ${msg.replace(/^\[SECURITY\] /, '')}`);
  }
  let root: FxNode | null = null;
  let rootName = '';
  for (const n of nodes) {
    const name = tagOf(n);
    if (name === '#text' || name.charCodeAt(0) === 63 /* ? */) continue;
    if (root !== null) {
      const second = text.indexOf('<' + name, text.lastIndexOf('</' + rootName) + 1);
      failAt(text, second < 0 ? text.length - 1 : second, 'Extra content at the end of the document', docName);
    }
    root = n;
    rootName = name;
  }
  if (root === null) throw new VirError(VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, `(${docName}):1:1: Document is empty`);
  return { root, rootName, ctx: { entities, hasRefs: text.indexOf('&') !== -1, attrWhitespace: info.attrWhitespace } };
}

/* ------------------------------------------------------------------ accessors */



/** Element name of a node (`#text` for text nodes). */
export function tagOf(n: FxNode): string {
  for (const k in n) return k;
  return '';
}

/** The literal text of a CDATA node (`{'#cdata': [{'#text': ...}]}`). */
function cdataText(node: FxNode): string {
  const inner = node['#cdata'] as FxNode[] | undefined;
  let s = '';
  if (Array.isArray(inner)) for (const t of inner) if (typeof t['#text'] === 'string') s += t['#text'];
  return s;
}

/** Decodes entity and character references (input already proven valid by the guard). */
export function decodeEntities(s: string, entities: Record<string, string> | null): string {
  if (s.indexOf('&') === -1) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z_:][\w.:-]*);/g, (m, ref: string) => {
    if (ref.charCodeAt(0) === 35) {
      const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return String.fromCodePoint(cp);
    }
    const p = PREDEFINED[ref];
    if (p !== undefined) return p;
    return entities?.[ref] ?? m;
  });
}

/**
 * The view family parsers work with: an element with name, attributes and child elements.
 * Built once per element from the fast-xml-parser node (cheap: no copies of children).
 */
export class Elem {
  readonly name: string;
  private readonly raw: FxNode;
  private readonly doc: DocContext;

  constructor(raw: FxNode, doc: DocContext, name?: string) {
    this.raw = raw;
    this.doc = doc;
    this.name = name ?? tagOf(raw);
  }

  private get ents(): Record<string, string> | null {
    return this.doc.entities;
  }

  /** Raw attribute map (undecoded values), or undefined when there are none. */
  private get attrMap(): Record<string, string> | undefined {
    return this.raw[':@'] as Record<string, string> | undefined;
  }

  /** Attribute value (entities decoded, whitespace normalised like XML attribute values). */
  attr(name: string): string | undefined {
    const m = this.attrMap;
    if (m === undefined) return undefined;
    const v = m[name];
    if (v === undefined) return undefined;
    const d = this.doc;
    if (!d.hasRefs && !d.attrWhitespace) return v;
    // '<' in attribute values was refused by the well-formedness scan. Literal tab/newline/CR
    // become spaces (XML attribute-value normalisation) before references are decoded, so
    // '&#10;' still yields a newline.
    const n = d.attrWhitespace && /[\t\n\r]/.test(v) ? v.replace(/[\t\n\r]/g, ' ') : v;
    return n.indexOf('&') === -1 ? n : decodeEntities(n, d.entities);
  }

  /** All attributes in document order (decoded). */
  attrs(): Array<[string, string]> {
    const m = this.attrMap;
    if (m === undefined) return [];
    const out: Array<[string, string]> = [];
    for (const k in m) out.push([k, this.attr(k)!]);
    return out;
  }

  hasAttrs(): boolean {
    const m = this.attrMap;
    if (m === undefined) return false;
    for (const _ in m) return true;
    return false;
  }

  private get kids(): FxNode[] {
    return this.raw[this.name] as FxNode[];
  }

  /** Child elements in document order. */
  children(): Elem[] {
    const out: Elem[] = [];
    for (const k of this.kids) {
      const t = tagOf(k);
      if (t !== '#text' && t !== '#cdata') out.push(new Elem(k, this.doc, t));
    }
    return out;
  }

  /** First child element with that name. */
  child(name: string): Elem | undefined {
    for (const k of this.kids) {
      if (name in k) return new Elem(k, this.doc, name);
    }
    return undefined;
  }

  /** All child elements with that name. */
  childrenNamed(name: string): Elem[] {
    const out: Elem[] = [];
    for (const k of this.kids) if (name in k) out.push(new Elem(k, this.doc, name));
    return out;
  }

  /** Concatenated text content of the direct text children (decoded). */
  text(): string {
    const kids = this.kids;
    if (kids.length === 0) return '';
    if (kids.length === 1) {
      const k0 = kids[0]!;
      const t = k0['#text'];
      if (typeof t === 'string') return this.doc.hasRefs ? decodeEntities(t, this.ents) : t;
      return '#cdata' in k0 ? cdataText(k0) : '';
    }
    let s = '';
    for (const k of kids) {
      const t = k['#text'];
      if (typeof t === 'string') s += this.doc.hasRefs ? decodeEntities(t, this.ents) : t;
      else if ('#cdata' in k) s += cdataText(k);
    }
    return s;
  }

  /** Full text content including descendants (XPath string()). */
  deepText(): string {
    let s = '';
    const walk = (kids: FxNode[]): void => {
      for (const k of kids) {
        const t = tagOf(k);
        if (t === '#text') s += decodeEntities(k['#text'] as string, this.ents);
        else if (t === '#cdata') s += cdataText(k);
        else walk(k[t] as FxNode[]);
      }
    };
    walk(this.kids);
    return s;
  }

  /** The element kept verbatim (blank text between child elements dropped, like libvirt). */
  toXmlElement(): XmlElement {
    const children: Array<XmlElement | string> = [];
    const kids = this.kids;
    let hasElem = false;
    for (const k of kids) if (!('#text' in k) && !('#cdata' in k)) hasElem = true;
    for (const k of kids) {
      const t = tagOf(k);
      if (t === '#text' || t === '#cdata') {
        const s = t === '#cdata' ? cdataText(k) : decodeEntities(k['#text'] as string, this.ents);
        if (hasElem && s.trim() === '') continue;
        if (s === '') continue;
        const last = children[children.length - 1];
        if (typeof last === 'string') children[children.length - 1] = last + s;
        else children.push(s);
      } else {
        children.push(new Elem(k, this.doc, t).toXmlElement());
      }
    }
    return { name: this.name, attrs: this.attrs(), children };
  }
}
