/**
 * formatDomainXML: DomainDef → libvirt domain XML text, byte-for-byte the way libvirt's
 * virDomainDefFormat writes it (2-space indent, single-quoted attributes, sizes in KiB,
 * trailing newline).
 *
 * Flags: `inactive` (VIR_DOMAIN_XML_INACTIVE) drops live-only data — domain id, runtime
 * aliases, pty paths, autoport ports; `secure` (VIR_DOMAIN_XML_SECURE) includes graphics
 * passwords, which are otherwise left out. The definition is not modified.
 */

import { writeDomain } from './domain/domain.js';
import { Writer } from './format/writer.js';
import type { DomainDef, FormatFlags } from './types.js';

/** Formats a domain definition. */
export function formatDomainXML(def: DomainDef, flags: FormatFlags = {}): string {
  const w = new Writer();
  writeDomain(w, def, { inactive: flags.inactive ?? false, secure: flags.secure ?? false }, flags.namespaces ?? []);
  return w.out;
}
