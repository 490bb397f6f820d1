/**
 * The bhyve driver's `DomainParserConfig` for the XML layer (libvirt
 * virBhyveDriverDomainDefParserConfig): bhyve-typed domains get libvirt's bhyve post-parse,
 * addressing and validation (domain.ts, defaults.ts); `kvm` and `qemu` domains are
 * accepted and left as the user wrote them — the persistent XML keeps what the user
 * wrote, and compat.ts maps them onto bhyve when they start. Any other domain type is
 * refused with VIR_ERR_CONFIG_UNSUPPORTED.
 *
 * The XML layer calls these at libvirt's points: implicit devices (disk controllers, the
 * video for graphics, with this driver's device post-parse turning its model into gop)
 * exist before `assignAddresses` hands out PCI slots.
 */

import type { DomainParserConfig } from '../xml/types.js';
import { type BhyveHostOptions, resolveHost, SUPPORTED_DOMAIN_TYPES } from './capabilities.js';
import { assignBhyveAddresses } from './defaults.js';
import { bhyveDevicePostParse, bhyveDeviceValidate, bhyvePostParse, bhyveValidate, isBhyveTyped } from './domain.js';
import { unsupported } from './errors.js';
import { defaultListDir, fillFirmware, type ListDir } from './firmware.js';

export interface ParserConfigOptions extends BhyveHostOptions {
  /** Directory listing for firmware autoselection (default: the real directory). */
  listDir?: ListDir;
  /** MAC for interfaces written without one (default: random 52:54:00:xx:xx:xx). */
  generateMac?: () => string;
}

export function createBhyveParserConfig(opts: ParserConfigOptions = {}): DomainParserConfig {
  const host = resolveHost(opts);
  const listDir = opts.listDir ?? defaultListDir;
  return {
    defaultArch: host.arch,
    ...(opts.generateMac ? { generateMac: opts.generateMac } : {}),
    postParse(def) {
      if (!(SUPPORTED_DOMAIN_TYPES as readonly string[]).includes(def.type)) {
        throw unsupported(`domain type '${def.type}' is not supported by the bhyve driver (bhyve, kvm, qemu are)`);
      }
      if (!isBhyveTyped(def)) return;
      bhyvePostParse(def, host);
      // Firmware autoselection shows in the defined XML, as libvirt's does; when no image
      // is found the definition stays as written and the start fails in prepare.
      if (def.os.firmware === 'efi') {
        try {
          fillFirmware(def, host, listDir);
        } catch {
          /* reported again, as an error, when the domain is prepared */
        }
      }
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
