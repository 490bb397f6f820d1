/**
 * PCI address assignment with libvirt's bhyve rules (src/bhyve/bhyve_device.c): bhyve has
 * one PCI bus; slot 0 is the hostbridge; slot 1 is kept for the LPC bridge unless a user
 * address took it (then the LPC/ISA controller gets the next free slot); addresses the
 * user wrote are reserved first and conflicts are reported; the rest are handed out slot
 * by slot, lowest free first, in libvirt's order: controllers (non-root PCI, SATA/AHCI,
 * nec-xhci USB, ISA/LPC, virtio-serial, NVMe, SCSI — in controller order), interfaces,
 * virtio disks, videos, sounds, filesystems, RNGs, PCI hostdevs. SATA and NVMe disks get
 * no slot of their own: they hang off their controller.
 *
 * Mutates the DomainDef given. Errors are VirErrors: "Attempted double use of PCI
 * Address ..." (VIR_ERR_XML_ERROR), "No more available PCI slots"
 * (VIR_ERR_INTERNAL_ERROR), an address outside bus 0 / slots 1–31 / functions 0–7.
 * Spec: libvirt domain_addr.c (virDomainPCIAddressReserveAddr, ...ReserveNextAddr).
 */

import type { DeviceInfo, DomainDef, PciAddress } from '../xml/types.js';
import { internalError, xmlError } from './errors.js';

const MAX_SLOT = 31;
const MIN_SLOT = 1;
const MAX_FUNCTION = 7;
export const LPC_SLOT = 1;

/** Which functions of each slot of bus 0 are taken (bit n = function n). */
export class PciAddressSet {
  private readonly functions = new Uint8Array(MAX_SLOT + 1);

  /** libvirt virDomainPCIAddressSlotInUse. */
  slotInUse(slot: number): boolean {
    return this.functions[slot] !== 0;
  }

  /** Reserves one function of a user-given address; refuses conflicts and bad ranges. */
  reserve(addr: PciAddress): void {
    if (addr.domain !== 0 || addr.bus !== 0) {
      throw xmlError(`Invalid PCI address ${formatPciAddress(addr)}. Only PCI domain 0 and bus 0 are available`);
    }
    if (addr.slot < MIN_SLOT || addr.slot > MAX_SLOT) {
      throw xmlError(`Invalid PCI address ${formatPciAddress(addr)}. slot must be >= ${MIN_SLOT} and <= ${MAX_SLOT}`);
    }
    if (addr.function < 0 || addr.function > MAX_FUNCTION) {
      throw xmlError(`Invalid PCI address ${formatPciAddress(addr)}. function must be >= 0 and <= ${MAX_FUNCTION}`);
    }
    const bit = 1 << addr.function;
    if (this.functions[addr.slot]! & bit) throw xmlError(`Attempted double use of PCI Address ${formatPciAddress(addr)}`);
    this.functions[addr.slot]! |= bit;
  }

  /** Reserves a whole free slot (all functions) and returns its function-0 address. */
  reserveNextSlot(): PciAddress {
    for (let slot = MIN_SLOT; slot <= MAX_SLOT; slot++) {
      if (this.functions[slot] === 0) {
        this.functions[slot] = 0xff;
        return { type: 'pci', domain: 0, bus: 0, slot, function: 0 };
      }
    }
    throw internalError('No more available PCI slots');
  }

  /** Reserves a whole slot (all functions) at a known free slot. */
  reserveSlot(slot: number): void {
    this.functions[slot] = 0xff;
  }
}

/** `0000:00:03.0`, as libvirt prints PCI addresses in messages. */
export function formatPciAddress(a: PciAddress): string {
  const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');
  return `${hex(a.domain, 4)}:${hex(a.bus, 2)}:${hex(a.slot, 2)}.${a.function.toString(16)}`;
}

/** libvirt virPCIDeviceAddressIsEmpty: domain, bus and slot all zero. */
function isEmptyPci(a: PciAddress): boolean {
  return a.domain === 0 && a.bus === 0 && a.slot === 0;
}

/** libvirt virDeviceInfoPCIAddressIsWanted: no address, or an empty PCI one. */
export function pciAddressWanted(info: DeviceInfo): boolean {
  const a = info.address;
  return a === undefined || (a.type === 'pci' && isEmptyPci(a));
}

/** Every device's info block, in libvirt's virDomainDeviceInfoIterate order. */
export function forEachDeviceInfo(def: DomainDef, cb: (info: DeviceInfo, family: string) => void): void {
  const d = def.devices;
  for (const x of d.disks) cb(x, 'disk');
  for (const x of d.interfaces) cb(x, 'interface');
  for (const x of d.sounds) cb(x, 'sound');
  for (const x of d.hostdevs) cb(x, 'hostdev');
  for (const x of d.videos) cb(x, 'video');
  for (const x of d.controllers) cb(x, 'controller');
  for (const x of d.serials) cb(x, 'serial');
  for (const x of d.parallels) cb(x, 'parallel');
  for (const x of d.channels) cb(x, 'channel');
  for (const x of d.consoles) cb(x, 'console');
  for (const x of d.inputs) cb(x, 'input');
  for (const x of d.filesystems) cb(x, 'filesystem');
  for (const x of d.graphics) cb(x, 'graphics');
  for (const x of d.watchdogs) cb(x, 'watchdog');
  for (const x of d.rngs) cb(x, 'rng');
  for (const x of d.tpms) cb(x, 'tpm');
  for (const x of d.panics) cb(x, 'panic');
  if (d.memballoon) cb(d.memballoon, 'memballoon');
}

/** bhyveDomainPCIAddressSetCreate: reserves every PCI address the definition names. */
export function collectPciAddresses(def: DomainDef): PciAddressSet {
  const set = new PciAddressSet();
  forEachDeviceInfo(def, (info) => {
    const a = info.address;
    if (a?.type !== 'pci' || isEmptyPci(a)) return;
    set.reserve(a);
  });
  return set;
}

/** Controller types that sit on the PCI bus in bhyve (nec-xhci only for USB). */
function controllerNeedsSlot(type: string, model: string | undefined): boolean {
  switch (type) {
    case 'pci':
      return model !== 'pci-root';
    case 'sata':
    case 'isa':
    case 'virtio-serial':
    case 'nvme':
    case 'scsi':
      return true;
    case 'usb':
      return model === 'nec-xhci';
    default:
      return false;
  }
}

function assignNext(set: PciAddressSet, info: DeviceInfo): void {
  info.address = set.reserveNextSlot();
}

/**
 * bhyveAssignDevicePCISlots: gives every device that needs one a PCI slot on bus 0.
 * Addresses already present are kept (and were checked by collectPciAddresses).
 */
export function assignPciAddresses(def: DomainDef): void {
  const set = collectPciAddresses(def);
  const d = def.devices;

  // Slot 1 is the LPC bridge's unless the user put something there: reserve it and
  // give it to an ISA controller that has no address yet.
  if (!set.slotInUse(LPC_SLOT)) {
    set.reserveSlot(LPC_SLOT);
    const isa = d.controllers.find((c) => c.type === 'isa' && pciAddressWanted(c));
    if (isa) isa.address = { type: 'pci', domain: 0, bus: 0, slot: LPC_SLOT, function: 0 };
  }

  for (const c of d.controllers) {
    if (!controllerNeedsSlot(c.type, c.model) || !pciAddressWanted(c)) continue;
    assignNext(set, c);
  }
  for (const n of d.interfaces) if (pciAddressWanted(n)) assignNext(set, n);
  for (const disk of d.disks) {
    // SATA and NVMe disks live on their controller; only virtio disks take a slot. A
    // virtio disk's drive address (libvirt accepts one) is replaced by a PCI one.
    if (disk.target.bus !== 'virtio') continue;
    const a = disk.address;
    if (a?.type === 'pci' && !isEmptyPci(a)) continue;
    assignNext(set, disk);
  }
  for (const v of d.videos) if (pciAddressWanted(v)) assignNext(set, v);
  for (const s of d.sounds) if (pciAddressWanted(s)) assignNext(set, s);
  for (const f of d.filesystems) if (pciAddressWanted(f)) assignNext(set, f);
  for (const r of d.rngs) if (pciAddressWanted(r)) assignNext(set, r);
  for (const h of d.hostdevs) {
    if (h.mode !== 'subsystem' || h.type !== 'pci' || !pciAddressWanted(h)) continue;
    assignNext(set, h);
  }
}

/** Ports of a virtio-serial controller when `ports` is absent (bhyve: 16). */
const DEFAULT_VIRTIO_SERIAL_PORTS = 16;

/**
 * virtio-serial addresses of virtio channels (libvirt domain_addr.c
 * virDomainVirtioSerialAddrAutoAssign): user addresses are checked and kept; the others
 * take the first free port ≥ 1 (port 0 belongs to a virtio console) on the lowest-index
 * controller that has one.
 */
export function assignVirtioSerialAddresses(def: DomainDef): void {
  const ctrls = def.devices.controllers
    .filter((c) => c.type === 'virtio-serial')
    .map((c) => ({ index: c.index, ports: c.ports ?? DEFAULT_VIRTIO_SERIAL_PORTS, used: new Set<number>() }))
    .sort((a, b) => a.index - b.index);
  const channels = def.devices.channels.filter((c) => c.target.type === 'virtio');
  for (const chr of channels) {
    const a = chr.address;
    if (a === undefined) continue;
    if (a.type !== 'virtio-serial') throw xmlError(`virtio channel '${chr.target.name ?? ''}' needs a virtio-serial address, not '${a.type}'`);
    const c = ctrls.find((x) => x.index === a.controller);
    if (!c) throw xmlError(`virtio-serial controller ${a.controller} not found for channel '${chr.target.name ?? ''}'`);
    if (a.bus !== 0) throw xmlError(`virtio-serial bus ${a.bus} does not exist (bus 0 only)`);
    if (a.port >= c.ports) throw xmlError(`virtio-serial port ${a.port} is beyond the ${c.ports} ports of controller ${a.controller}`);
    if (c.used.has(a.port)) throw xmlError(`virtio-serial port ${a.port} on controller ${a.controller} is used twice`);
    c.used.add(a.port);
  }
  for (const chr of channels) {
    if (chr.address !== undefined) continue;
    let done = false;
    for (const c of ctrls) {
      for (let port = 1; port < c.ports; port++) {
        if (c.used.has(port)) continue;
        c.used.add(port);
        chr.address = { type: 'virtio-serial', controller: c.index, bus: 0, port };
        done = true;
        break;
      }
      if (done) break;
    }
    if (!done) throw internalError('Unable to find a free virtio-serial port');
  }
}
