/**
 * The bhyve driver's `DomainParserConfig` for the XML layer (libvirt
 * virBhyveDriverDomainDefParserConfig): bhyve-typed domains get libvirt's bhyve post-parse,
 * addressing and validation (domain.ts, defaults.ts); `kvm` and `qemu` domains are
 * accepted and left as the user wrote them — the persistent XML keeps what the user
 * wrote, and compat.ts maps them onto bhyve when they start. Any other domain type is
 * refused with VIR_ERR_CONFIG_UNSUPPORTED.
 */

import type { DomainParserConfig } from '../xml/types.js';
import { type BhyveHostOptions, resolveHost, SUPPORTED_DOMAIN_TYPES } from './capabilities.js';
import { assignBhyveAddresses } from './defaults.js';
import { bhyveDevicePostParse, bhyveDeviceValidate, bhyvePostParse, bhyveValidate, isBhyveTyped } from './domain.js';
import { unsupported } from './errors.js';

export function createBhyveParserConfig(opts: BhyveHostOptions = {}): DomainParserConfig {
  const host = resolveHost(opts);
  return {
    defaultArch: host.arch,
    postParse(def) {
      if (!(SUPPORTED_DOMAIN_TYPES as readonly string[]).includes(def.type)) {
        throw unsupported(`domain type '${def.type}' is not supported by the bhyve driver (bhyve, kvm, qemu are)`);
      }
      if (isBhyveTyped(def)) bhyvePostParse(def, host);
    },
    devicePostParse(dev, def) {
      if (isBhyveTyped(def)) bhyveDevicePostParse(dev, def, host);
    },
    assignAddresses(def) {
      if (isBhyveTyped(def)) assignBhyveAddresses(def);
    },
    validate(def) {
      if (isBhyveTyped(def)) bhyveValidate(def, host);
    },
    deviceValidate(dev, def) {
      if (isBhyveTyped(def)) bhyveDeviceValidate(dev, host);
    },
  };
}
