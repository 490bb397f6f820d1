/**
 * parseDomainXML: libvirt domain XML text → DomainDef, the way libvirt's defineXML reads it
 * (virDomainDefParseString → virDomainDefPostParse → virDomainDefValidate).
 *
 * Steps: guarded XML parse (parse/xml-tree.ts), structure (domain/domain.ts), post-parse
 * defaults with the driver's hooks (postparse.ts), validation (validate.ts).
 * Contract: returns a DomainDef or throws a VirError — any other exception escaping a
 * family parser is a bug and is reported as VIR_ERR_INTERNAL_ERROR rather than leaking.
 */

import { internalError, isVirError } from './errors.js';
import { parseDomainElement } from './domain/domain.js';
import { postParse } from './postparse.js';
import type { DomainDef, DomainParserConfig, ParseFlags } from './types.js';
import { generateMac } from './parse/values.js';
import { Elem, parseXmlDocument } from './parse/xml-tree.js';
import { validate } from './validate.js';

const NO_CONFIG: DomainParserConfig = {};

/** Parses a domain definition; see ParseFlags for the options. */
export function parseDomainXML(text: string, flags: ParseFlags = {}): DomainDef {
  try {
    const inactive = flags.inactive ?? true;
    const config = flags.config ?? NO_CONFIG;
    const doc = parseXmlDocument(text, 'domain_definition');
    const root = new Elem(doc.root, doc.ctx, doc.rootName);
    const ctx = { inactive, generateMac: config.generateMac ? () => config.generateMac!() : generateMac };
    const def = parseDomainElement(root, doc.rootName, {
      ctx,
      defaultArch: config.defaultArch ?? 'x86_64',
      namespaces: config.namespaces ?? [],
    });
    if (!flags.skipPostParse) postParse(def, config, ctx);
    if (!flags.skipValidate) validate(def, config, ctx);
    return def;
  } catch (e) {
    if (isVirError(e)) throw e;
    if (e instanceof RangeError) throw internalError(`domain XML too complex to process: ${e.message}`);
    throw internalError(`unexpected failure while parsing domain XML: ${e instanceof Error ? e.message : String(e)}`);
  }
}
