/**
 * tsvirt/xml: libvirt domain XML ⇄ DomainDef, capabilities XML, libvirt-style errors.
 *
 * Public surface (other issues and external checks rely on it):
 *   parseDomainXML(text, flags?) → DomainDef, or throws VirError {code, domain, message}
 *   formatDomainXML(def, { inactive?, secure? }) → string
 * The DomainDef model and its naming conventions: ./types.ts.
 */

export type * from './types.js';
export * from './errors.js';
export { parseDomainXML } from './parse.js';
export { formatDomainXML } from './format.js';
export { formatCapabilitiesXML, formatDomainCapabilitiesXML, bhyveDomainCapabilities, bhyveGuestCaps } from './capabilities.js';
export type { BhyveProbe } from './capabilities.js';
export { XmlSyntaxError } from './parse/xml-tree.js';
