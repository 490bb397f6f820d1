/**
 * A single-pass well-formedness check run before fast-xml-parser (which is lenient: it
 * silently closes mismatched or unclosed tags and keeps the last of repeated attributes).
 *
 * Checks: one root element and nothing but blanks, comments and processing instructions
 * around it; every start tag closed by a matching end tag; names well formed; attributes
 * separated by blanks, written name='value' or name="value", not repeated, without a
 * literal '<'; comments, CDATA sections and PIs terminated; no DOCTYPE left (the entity
 * guard in xml-tree.ts removes the one it accepts). Character and entity references are
 * checked by that guard too.
 * Cost: linear in the input — one forward scan with indexOf jumps; duplicate attributes
 * are found with a Set once a tag has more than a handful.
 * On failure it returns the offset and a message (the caller turns it into line:column);
 * it never throws.
 */

/** Deepest nesting accepted (libxml2's default limit). */
export const MAX_DEPTH = 256;

export interface WellFormedError {
  index: number;
  message: string;
}

/** Facts the scan learns for free, used to skip work later. */
export interface WellFormedInfo {
  /** Some attribute value contains a tab, newline or CR (needs XML whitespace normalisation). */
  attrWhitespace: boolean;
}

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58 || (c >= 0xc0 && c <= 0xfffd && c !== 0xd7 && c !== 0xf7);
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 0xb7;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

/** ASCII names take the sticky-regex fast path; anything else the per-character one. */
const ASCII_NAME = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;

/** End of the name starting at i (exclusive), or i when there is none. */
function scanName(s: string, i: number): number {
  ASCII_NAME.lastIndex = i;
  let j = i;
  if (ASCII_NAME.test(s)) {
    j = ASCII_NAME.lastIndex;
    const c = s.charCodeAt(j);
    if (c < 0x80 || Number.isNaN(c)) return j;
  } else if (i >= s.length || !isNameStart(s.charCodeAt(i))) return i;
  else j = i + 1;
  while (j < s.length && isNameChar(s.charCodeAt(j))) j++;
  return j;
}

/** Checks `text`; returns null when it is well formed. */
export function checkWellFormed(text: string, info?: WellFormedInfo): WellFormedError | null {
  let nextNl = -2;
  let nextTab = -2;
  let nextCr = -2;
  let attrWs = false;
  const n = text.length;
  const stack: string[] = [];
  const stackPos: number[] = [];
  let seenRoot = false;
  let rootClosed = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < n) {
    const lt = text.indexOf('<', i);
    const textEnd = lt === -1 ? n : lt;
    if (textEnd > i && stack.length === 0) {
      for (let k = i; k < textEnd; k++) {
        if (!isBlank(text.charCodeAt(k))) {
          return { index: k, message: rootClosed ? 'Extra content at the end of the document' : 'Start tag expected, \'<\' not found' };
        }
      }
    }
    if (lt === -1) break;
    i = lt;
    const c1 = text.charCodeAt(i + 1);
    if (c1 === 63 /* ? */) {
      const end = text.indexOf('?>', i + 2);
      if (end === -1) return { index: i, message: 'processing instruction is not terminated' };
      i = end + 2;
      continue;
    }
    if (c1 === 33 /* ! */) {
      if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i + 4);
        if (end === -1) return { index: i, message: 'Comment not terminated' };
        i = end + 3;
        continue;
      }
      if (text.startsWith('<![CDATA[', i)) {
        if (stack.length === 0) return { index: i, message: 'CDATA section outside the root element' };
        const end = text.indexOf(']]>', i + 9);
        if (end === -1) return { index: i, message: 'CDATA section not terminated' };
        i = end + 3;
        continue;
      }
      return { index: i, message: 'markup declarations are not allowed here' };
    }
    if (c1 === 47 /* / */) {
      const nameEnd = scanName(text, i + 2);
      if (nameEnd === i + 2) return { index: i, message: 'invalid end tag name' };
      const name = text.slice(i + 2, nameEnd);
      let j = nameEnd;
      while (j < n && isBlank(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) !== 62 /* > */) return { index: j, message: `end tag '${name}' is not terminated by '>'` };
      const open = stack.pop();
      const openAt = stackPos.pop();
      if (open === undefined) return { index: i, message: `Closing tag '${name}' has not been opened` };
      if (open !== name) {
        const openLine = text.slice(0, openAt).split('\n').length;
        return { index: i, message: `Opening and ending tag mismatch: ${open} line ${openLine} and ${name}` };
      }
      if (stack.length === 0) rootClosed = true;
      i = j + 1;
      continue;
    }
    // start tag
    if (rootClosed) return { index: i, message: 'Extra content at the end of the document' };
    const nameEnd = scanName(text, i + 1);
    if (nameEnd === i + 1) return { index: i + 1, message: 'StartTag: invalid element name' };
    const name = text.slice(i + 1, nameEnd);
    let j = nameEnd;
    let names: string[] | null = null;
    let nameSet: Set<string> | null = null;
    let nextLt = -2; // next '<' at or after the current attribute value (amortised)
    for (;;) {
      const ws = j;
      while (j < n && isBlank(text.charCodeAt(j))) j++;
      if (j >= n) return { index: i, message: `Couldn't find end of Start Tag ${name}` };
      const c = text.charCodeAt(j);
      if (c === 62 /* > */) {
        if (stack.length >= MAX_DEPTH) return { index: i, message: `Excessive depth in document: ${MAX_DEPTH} elements nested` };
        stack.push(name);
        stackPos.push(i);
        seenRoot = true;
        i = j + 1;
        break;
      }
      if (c === 47 /* / */) {
        if (text.charCodeAt(j + 1) !== 62) return { index: j, message: `Couldn't find end of Start Tag ${name}` };
        if (stack.length === 0) rootClosed = true;
        seenRoot = true;
        i = j + 2;
        break;
      }
      if (j === ws) return { index: j, message: 'attributes construct error: blank expected between attributes' };
      const an = scanName(text, j);
      if (an === j) return { index: j, message: 'attributes construct error: invalid attribute name' };
      const attrName = text.slice(j, an);
      j = an;
      while (j < n && isBlank(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) !== 61 /* = */) return { index: j, message: `Specification mandates value for attribute ${attrName}` };
      j++;
      while (j < n && isBlank(text.charCodeAt(j))) j++;
      const q = text.charCodeAt(j);
      if (q !== 39 && q !== 34) return { index: j, message: `AttValue: " or ' expected (attribute ${attrName})` };
      const close = text.indexOf(q === 39 ? "'" : '"', j + 1);
      if (close === -1) return { index: j, message: `AttValue: ' expected (attribute ${attrName})` };
      if (nextLt !== -1 && nextLt <= j) nextLt = text.indexOf('<', j + 1);
      const lt2 = nextLt;
      if (lt2 !== -1 && lt2 < close) return { index: lt2, message: `Unescaped '<' not allowed in attributes values (attribute ${attrName})` };
      if (!attrWs) {
        if (nextNl !== -1 && nextNl <= j) nextNl = text.indexOf('\n', j + 1);
        if (nextTab !== -1 && nextTab <= j) nextTab = text.indexOf('\t', j + 1);
        if (nextCr !== -1 && nextCr <= j) nextCr = text.indexOf('\r', j + 1);
        if ((nextNl !== -1 && nextNl < close) || (nextTab !== -1 && nextTab < close) || (nextCr !== -1 && nextCr < close)) attrWs = true;
      }
      if (nameSet !== null) {
        if (nameSet.has(attrName)) return { index: j, message: `Attribute ${attrName} redefined` };
        nameSet.add(attrName);
      } else {
        names ??= [];
        if (names.includes(attrName)) return { index: j, message: `Attribute ${attrName} redefined` };
        names.push(attrName);
        if (names.length > 8) nameSet = new Set(names);
      }
      j = close + 1;
    }
  }
  if (stack.length > 0) {
    return { index: stackPos[stackPos.length - 1]!, message: `Premature end of data in tag ${stack[stack.length - 1]}` };
  }
  if (!seenRoot) return { index: 0, message: 'Document is empty' };
  if (info) info.attrWhitespace = attrWs;
  return null;
}
