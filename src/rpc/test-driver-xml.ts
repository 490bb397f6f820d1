/**
 * Minimal domain XML handling for the TEST driver (`test-driver.ts`): reads the few fields
 * the TEST driver models (name, uuid, memory, currentMemory, vcpu, os type, title,
 * description) with libvirt's unit scaling (the XML layer's), keeps the rest of the document as given, and
 * writes it back with the runtime id. Not libvirt's parser: no schema, no defaults, no
 * devices; the real driver uses src/xml.
 */
import { randomUUID } from 'node:crypto';
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { parseUuid } from '../xml/uuid.js';
import { virErr } from '../xml/errors.js';
import { parseSizeKiB } from '../xml/parse/values.js';

export type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  preserveOrder: true,
  attributeNamePrefix: '@',
  commentPropName: '#comment',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
});
const builder = new XMLBuilder({
  ignoreAttributes: false,
  preserveOrder: true,
  attributeNamePrefix: '@',
  commentPropName: '#comment',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
});

export interface ParsedDef {
  tree: XmlNode[];
  name: string;
  uuid: string;
  memoryKiB: bigint;
  currentMemoryKiB: bigint;
  vcpus: number;
  osType: string;
}


function xmlError(detail: string): Error {
  return virErr('VIR_ERR_XML_ERROR', 'VIR_FROM_TEST', detail);
}

export function children(node: XmlNode): XmlNode[] {
  for (const k of Object.keys(node)) {
    if (k !== ':@') return Array.isArray(node[k]) ? (node[k] as XmlNode[]) : [];
  }
  return [];
}

export function tagOf(node: XmlNode): string | undefined {
  return Object.keys(node).find((k) => k !== ':@');
}

export function findChild(list: XmlNode[], tag: string): XmlNode | undefined {
  return list.find((n) => tagOf(n) === tag);
}

export function textOf(node: XmlNode | undefined): string | undefined {
  if (!node) return undefined;
  const t = children(node).find((n) => tagOf(n) === '#text');
  return t === undefined ? '' : String(t['#text']);
}

function attrOf(node: XmlNode | undefined, name: string): string | undefined {
  const attrs = node?.[':@'] as Record<string, string> | undefined;
  return attrs?.[`@${name}`];
}

/** `<memory unit=''>` and the like in KiB, with the XML layer's (libvirt's) unit rules. */
function scaledKiB(node: XmlNode | undefined, what: string): bigint | undefined {
  if (!node) return undefined;
  return BigInt(parseSizeKiB(textOf(node) ?? '', attrOf(node, 'unit'), `./${what}[1]`));
}

export function parseDomainXml(xml: string): ParsedDef {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw xmlError(`(domain_definition):${valid.err.line}: ${valid.err.msg}`);
  const tree = parser.parse(xml) as XmlNode[];
  const root = tree.find((n) => tagOf(n) === 'domain');
  if (!root) throw xmlError('expected root element <domain>');
  const kids = children(root);
  const name = (textOf(findChild(kids, 'name')) ?? '').trim();
  if (name === '') throw xmlError('missing domain name information');
  if (name.includes('/')) throw xmlError(`name ${name} cannot contain '/'`);
  const uuidText = textOf(findChild(kids, 'uuid'));
  let uuid: string;
  if (uuidText === undefined) {
    uuid = randomUUID();
    kids.splice(kids.indexOf(findChild(kids, 'name') as XmlNode) + 1, 0, { uuid: [{ '#text': uuid }] });
  } else {
    const n = parseUuid(uuidText);
    if (n === null) throw xmlError(`malformed uuid element`);
    uuid = n;
  }
  const memoryKiB = scaledKiB(findChild(kids, 'memory'), 'memory');
  if (memoryKiB === undefined) throw xmlError('missing memory element');
  const currentMemoryKiB = scaledKiB(findChild(kids, 'currentMemory'), 'currentMemory') ?? memoryKiB;
  const vcpuText = (textOf(findChild(kids, 'vcpu')) ?? '1').trim();
  const vcpus = /^[0-9]+$/.test(vcpuText) ? Number(vcpuText) : NaN;
  if (!(vcpus >= 1 && vcpus <= 65535)) throw xmlError(`maximum vcpus count must be an integer: '${vcpuText}'`);
  const os = findChild(kids, 'os');
  const osType = (textOf(os ? findChild(children(os), 'type') : undefined) ?? 'hvm').trim() || 'hvm';
  return { tree, name, uuid, memoryKiB, currentMemoryKiB: currentMemoryKiB > memoryKiB ? memoryKiB : currentMemoryKiB, vcpus, osType };
}

export function formatDef(def: ParsedDef, id: number): string {
  const tree = structuredClone(def.tree);
  const root = tree.find((n) => tagOf(n) === 'domain') as XmlNode;
  const attrs = { ...((root[':@'] as Record<string, string> | undefined) ?? {}) };
  delete attrs['@id'];
  root[':@'] = id >= 0 ? { ...attrs, '@id': String(id) } : attrs;
  return String(builder.build(tree)).replace(/^\s+/, '');
}
