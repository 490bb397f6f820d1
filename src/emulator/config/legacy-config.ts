/**
 * Legacy option-string parsers of bhyve's `-s slot,emulation,conf` syntax: each turns the
 * `conf` remainder into keys under the device's `pci.B.S.F` node, exactly as the
 * matching `pe_legacy_config` of bhyve does (bhyve-userland.md §1.3, §1.5).
 *
 * `generic` is pci_parse_legacy_config (comma-separated `name[=value]`, a bare name
 * becomes `name=true`); `block` is blockif_legacy_config (first token is the path);
 * `net` is netbe_legacy_config (first token is the backend); the others are per device.
 * A parser returns an error message (bhyve prints it and exits 4) or undefined.
 * No file or device is opened here: this is text → tree only.
 */
import type { ConfigNode } from './tree.js';

export type LegacyParser = (node: ConfigNode, conf: string | undefined) => string | undefined;

/** pci_parse_legacy_config. */
export const generic: LegacyParser = (node, conf) => {
  if (conf === undefined) return undefined;
  for (const item of conf.split(',')) {
    const eq = item.indexOf('=');
    if (eq >= 0) node.set(item.slice(0, eq), item.slice(eq + 1));
    else node.setBool(item, true);
  }
  return undefined;
};

/** blockif_legacy_config: `PATH[,opts]`. */
export const block: LegacyParser = (node, conf) => {
  if (conf === undefined) return undefined;
  const comma = conf.indexOf(',');
  if (comma < 0) {
    node.set('path', conf);
    return undefined;
  }
  node.set('path', conf.slice(0, comma));
  return generic(node, conf.slice(comma + 1));
};

/** netbe_legacy_config: `BACKEND[,opts]`. */
export const net: LegacyParser = (node, conf) => {
  if (conf === undefined) return undefined;
  const comma = conf.indexOf(',');
  if (comma < 0) {
    node.set('backend', conf);
    return undefined;
  }
  node.set('backend', conf.slice(0, comma));
  return generic(node, conf.slice(comma + 1));
};

/** pci_amd_hostbridge_legacy_config: presets the AMD IDs, ignores the conf string. */
export const amdHostbridge: LegacyParser = (node) => {
  const regs = node.create('pcireg');
  regs.set('vendor', '0x1022');
  regs.set('device', '0x7432');
  return undefined;
};

const AHCI_MAX_PORTS = 32;

function ahciPort(ports: ConfigNode, port: number, type: string, opts: string): string | undefined {
  const n = ports.create(String(port));
  n.set('type', type);
  return block(n, opts);
}

/** pci_ahci_legacy_config: `hd:PATH[,opts],cd:PATH[,opts],...`, one port each. */
export const ahci: LegacyParser = (node, conf) => {
  if (conf === undefined) return undefined;
  const ports = node.create('port');
  let str: string | undefined = conf;
  for (let p = 0; p < AHCI_MAX_PORTS && str !== undefined; p++) {
    let type: string | undefined;
    if (str.startsWith('hd:')) {
      type = 'hd';
      str = str.slice(3);
    } else if (str.startsWith('cd:')) {
      type = 'cd';
      str = str.slice(3);
    }
    const nextHd = str.indexOf(',hd:');
    const nextCd = str.indexOf(',cd:');
    let next = nextHd;
    if (next < 0 || (nextCd >= 0 && nextCd < next)) next = nextCd;
    let rest: string | undefined;
    if (next >= 0) {
      rest = str.slice(next + 1);
      str = str.slice(0, next);
    }
    if (str !== '') {
      if (type === undefined) return `Missing or invalid type for port ${p}: "${str}"`;
      const err = ahciPort(ports, p, type, str);
      if (err) return err;
    }
    str = rest;
  }
  return undefined;
};

/** pci_ahci_hd_legacy_config / pci_ahci_cd_legacy_config: one drive on port 0. */
export function ahciSingle(type: 'hd' | 'cd'): LegacyParser {
  return (node, conf) => {
    const ports = node.create('port');
    const n = ports.create('0');
    n.set('type', type);
    return block(n, conf);
  };
}

const VTCON_MAXPORTS = 16;

/** pci_vtcon_legacy_config: `name=path,...` → port.N.name / port.N.path. */
export const virtioConsole: LegacyParser = (node, conf) => {
  if (conf === undefined) return undefined;
  const ports = node.create('port');
  let port = 0;
  for (const item of conf.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) return `vtcon: port ${item} requires a path`;
    if (port >= VTCON_MAXPORTS) return 'vtcon: too many ports';
    const n = ports.create(String(port));
    n.set('name', item.slice(0, eq));
    n.set('path', item.slice(eq + 1));
    port++;
  }
  return undefined;
};

/** pci_nvme_legacy_config: `ram=MiB[,opts]` or a block backend. */
export const nvme: LegacyParser = (node, conf) => {
  if (conf === undefined) return undefined;
  if (conf.startsWith('ram=')) {
    const comma = conf.indexOf(',');
    if (comma < 0) {
      node.set('ram', conf.slice(4));
      return undefined;
    }
    node.set('ram', conf.slice(4, comma));
    return generic(node, conf.slice(comma + 1));
  }
  return block(node, conf);
};

/** pci_vt9p_legacy_config: `sharename=path[,ro]`. */
export const virtio9p: LegacyParser = (node, conf) => {
  if (conf === undefined) return undefined;
  let share = false;
  for (const item of conf.split(',')) {
    const eq = item.indexOf('=');
    if (eq >= 0) {
      if (share) return 'virtio-9p: more than one share name given';
      share = true;
      node.set('sharename', item.slice(0, eq));
      node.set('path', item.slice(eq + 1));
    } else {
      node.setBool(item, true);
    }
  }
  return undefined;
};

/** Devices whose conf is a single path (virtio-input, PCI uart). */
export const pathOnly: LegacyParser = (node, conf) => {
  if (conf !== undefined) node.set('path', conf);
  return undefined;
};

/** pci_vtscsi_legacy_config: `[dev][,opts]`. */
export const virtioScsi: LegacyParser = (node, conf) => {
  if (conf === undefined) return undefined;
  const comma = conf.indexOf(',');
  const first = comma < 0 ? conf : conf.slice(0, comma);
  if (first.includes('=')) return generic(node, conf);
  node.set('dev', first);
  return comma < 0 ? undefined : generic(node, conf.slice(comma + 1));
};

/** pci_xhci_legacy_config: `dev[,dev...]` → slot.N.device (numbered from 1). */
export const xhci: LegacyParser = (node, conf) => {
  if (conf === undefined) return undefined;
  let slot = 1;
  for (const item of conf.split(',')) {
    if (item === '') continue;
    node.create(`slot.${slot}`).set('device', item);
    slot++;
  }
  return undefined;
};

/** passthru_legacy_config: `pptN`, `bus/slot/func` or `pciB:S:F`, then options. */
export const passthru: LegacyParser = (node, conf) => {
  if (conf === undefined) return undefined;
  const comma = conf.indexOf(',');
  const first = comma < 0 ? conf : conf.slice(0, comma);
  let m: RegExpMatchArray | null;
  if ((m = /^(\d+)\/(\d+)\/(\d+)$/.exec(first)) || (m = /^pci(\d+):(\d+):(\d+)$/.exec(first))) {
    node.set('bus', m[1]!);
    node.set('slot', m[2]!);
    node.set('func', m[3]!);
  } else if (/^ppt\d+$/.test(first)) {
    node.set('pptdev', first);
  } else {
    return `passthru: invalid PCI device address "${first}"`;
  }
  return comma < 0 ? undefined : generic(node, conf.slice(comma + 1));
};
