/**
 * tsvirt/xml: libvirt domain XML <-> DomainDef.
 */
export {};
