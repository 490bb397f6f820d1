/**
 * tsvirt/xml: libvirt domain XML ⇄ DomainDef, capabilities XML, libvirt-style errors.
 *
 * Public surface (other issues and external checks rely on it):
 *   parseDomainXML(text, flags?) → DomainDef, or throws VirError {code, domain, message}
 *   formatDomainXML(def, { inactive?, secure? }) → string
 *   formatCapabilitiesXML(caps), formatDomainCapabilitiesXML(domcaps) → string
 *   bhyveDomainCapabilities(probe), bhyveGuestCaps(emulator) → bhyve-shaped caps data
 *   VirError, isVirError, XmlSyntaxError (adds line/column), VIR_ERR_* and VIR_FROM_*
 * Driver hooks: ParseFlags.config (DomainParserConfig, model/hooks.ts); helpers hooks add
 *   implicit controllers with: addController, maybeAddController, findUnusedControllerIndex.
 * The DomainDef model and its naming conventions: ./types.ts.
 * No logic here: exports only.
 */

export type * from './types.js';
export * from './errors.js';
export { parseDomainXML } from './parse.js';
export { formatDomainXML } from './format.js';
export { formatCapabilitiesXML, formatDomainCapabilitiesXML, bhyveDomainCapabilities, bhyveGuestCaps } from './capabilities.js';
export type { BhyveProbe } from './capabilities.js';
export { XmlSyntaxError } from './parse/xml-tree.js';
export { addController, findUnusedControllerIndex, maybeAddController } from './domain/controller.js';
