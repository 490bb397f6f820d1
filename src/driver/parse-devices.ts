/**
 * bhyve `-s` and `-l` arguments → devices of a DomainDef (libvirt
 * bhyve_parse_command.c bhyveParseBhyvePCIArg / bhyveParseBhyveLPCArg and their device
 * parsers): ahci-hd/ahci-cd/virtio-blk disks, virtio-net/e1000 interfaces on taps, fbuf
 * (VNC + GOP video), virtio-rnd, passthru, and COM ports on nmdm devices.
 *
 * In `libvirt` mode the result is exactly libvirt's, including what it drops: a device
 * it cannot represent is skipped with a warning (libvirt reports an error and carries
 * on), and a bad COM port fails the whole parse. In `tsvirt` mode more of bhyve's
 * vocabulary is understood (ahci with several ports, nvme, virtio-9p, virtio-console,
 * lpc, xhci tablet, hda, COM3/COM4, tcp/stdio backends, boot ROM, TPM); anything still
 * unknown becomes `<bhyve:arg>` pass-through with a warning. Never throws for bad device
 * text except where libvirt fails the parse; errors are VirErrors.
 */

import type { DiskDef, DomainDef, InterfaceDef } from '../xml/types.js';
import { operationFailed, unsupported } from './errors.js';

export type ParseMode = 'libvirt' | 'tsvirt';

export interface ArgvParseContext {
  def: DomainDef;
  mode: ParseMode;
  warnings: string[];
  generateMac(): string;
  /** Disk name counters per bus (libvirt numbers vda.., sda.. in order of appearance). */
  counters: { virtio: number; sata: number; nvme: number };
  /** Arguments passed through as `<bhyve:arg>` (tsvirt mode). */
  passthrough: string[];
}

interface Slot {
  bus: number;
  slot: number;
  func: number;
}

function pciAddress(s: Slot): NonNullable<DiskDef['address']> {
  return { type: 'pci', domain: 0, bus: s.bus, slot: s.slot, function: s.func };
}

/** bhyveParsePCISlot: `slot[:function]` or `bus:slot:function`, decimal. */
function parseSlot(text: string): Slot | undefined {
  const parts = text.split(':');
  if (parts.length > 3 || parts.some((p) => !/^\d+$/.test(p))) return undefined;
  const v = parts.map(Number);
  if (v.some((n) => n > 0xffffffff)) return undefined;
  if (v.length === 3) return { bus: v[0]!, slot: v[1]!, func: v[2]! };
  return { bus: 0, slot: v[0]!, func: v[1] ?? 0 };
}

const MAC_RE = /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/;

/** virMacAddrParse: six colon-separated hex octets → canonical lowercase text. */
export function parseMac(text: string): string | undefined {
  if (!MAC_RE.test(text)) return undefined;
  return text
    .split(':')
    .map((o) => o.toLowerCase().padStart(2, '0'))
    .join(':');
}

/** bhyveParsePCIDisk. Returns false (after a warning) when the disk is dropped. */
function parseDisk(ctx: ArgvParseContext, slot: Slot, bus: 'virtio' | 'sata', device: 'disk' | 'cdrom', conf: string | undefined): void {
  if (conf === undefined) {
    ctx.warnings.push(`-s ${slot.slot}: disk without a path dropped`);
    return;
  }
  const comma = conf.indexOf(',');
  const path = comma < 0 ? conf : conf.slice(0, comma);
  const idx = bus === 'virtio' ? ctx.counters.virtio++ : ctx.counters.sata++;
  if (idx > 25) {
    ctx.warnings.push(`unsupported configuration: too many disks (${path} dropped)`);
    return;
  }
  const block = path.startsWith('/dev/');
  const disk: DiskDef = {
    type: block ? 'block' : 'file',
    device,
    source: block ? { dev: path } : { file: path },
    target: { dev: `${bus === 'virtio' ? 'vd' : 'sd'}${String.fromCharCode(0x61 + idx)}`, bus },
    address: pciAddress(slot),
  };
  if (comma >= 0 && ctx.mode === 'tsvirt') applyBlockOpts(ctx, disk, conf.slice(comma + 1));
  ctx.def.devices.disks.push(disk);
}

/** tsvirt: bhyve block options back into the disk definition. */
function applyBlockOpts(ctx: ArgvParseContext, disk: DiskDef, opts: string): void {
  for (const o of opts.split(',')) {
    const [k, v] = o.includes('=') ? [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)] : [o, undefined];
    if (k === 'ro') disk.readonly = true;
    else if (k === 'nocache') (disk.driver ??= {}).cache = disk.driver?.cache === 'writethrough' ? 'directsync' : 'none';
    else if (k === 'direct' || k === 'sync') (disk.driver ??= {}).cache = disk.driver?.cache === 'none' ? 'directsync' : 'writethrough';
    else if (k === 'nodelete') (disk.driver ??= {}).discard = 'ignore';
    else if ((k === 'ser' || k === 'serial') && v !== undefined) disk.serial = v;
    else if (k === 'nmrr' && v !== undefined && /^\d+$/.test(v)) disk.target.rotation_rate = Number(v);
    else if (k === 'bootindex' && v !== undefined && /^\d+$/.test(v)) disk.boot = { order: Number(v) };
    else if (k === 'sectorsize' && v !== undefined && /^\d+(\/\d+)?$/.test(v)) {
      const [l, p] = v.split('/').map(Number);
      disk.blockio = { logical_block_size: l!, physical_block_size: p ?? l! };
    } else ctx.warnings.push(`disk ${disk.target.dev}: option '${o}' not represented`);
  }
}

/** bhyveParsePCINet. */
function parseNet(ctx: ArgvParseContext, slot: Slot, model: 'virtio' | 'e1000', conf: string | undefined): void {
  if (conf === undefined) {
    ctx.warnings.push(`-s ${slot.slot}: network device without a backend dropped`);
    return;
  }
  const net: InterfaceDef = {
    type: 'bridge',
    mac: { address: '' },
    source: { bridge: 'virbr0' },
    model,
    address: pciAddress(slot),
  };
  const comma = conf.indexOf(',');
  const backend = comma < 0 ? conf : conf.slice(0, comma);
  if (ctx.mode === 'tsvirt' && backend === 'slirp') {
    net.type = 'user';
    delete net.source;
  } else if (!backend.startsWith('tap')) {
    ctx.warnings.push('unsupported configuration: Only tap devices supported');
    return;
  } else {
    net.target = { dev: backend };
  }
  let macGiven = false;
  if (comma >= 0) {
    const opts = conf.slice(comma + 1).split(',');
    const first = opts[0]!;
    if (!first.startsWith('mac=')) {
      if (ctx.mode === 'libvirt') {
        ctx.warnings.push('unsupported configuration: Only mac option can be specified for virt-net');
        return;
      }
    }
    for (const o of ctx.mode === 'libvirt' ? [first] : opts) {
      if (o.startsWith('mac=')) {
        macGiven = true;
        const mac = parseMac(o.slice(4));
        if (mac === undefined) {
          ctx.warnings.push(`internal error: unable to parse mac address '${o.slice(4)}'`);
          net.mac.address = '00:00:00:00:00:00';
        } else net.mac.address = mac;
      } else if (o.startsWith('mtu=') && /^\d+$/.test(o.slice(4))) {
        net.mtu = { size: Number(o.slice(4)) };
      } else if (o !== 'open') {
        ctx.warnings.push(`interface ${backend}: option '${o}' not represented`);
      }
    }
  }
  if (!macGiven) net.mac.address = ctx.generateMac();
  ctx.def.devices.interfaces.push(net);
}

/** bhyveParsePCIFbuf. */
function parseFbuf(ctx: ArgvParseContext, slot: Slot, conf: string | undefined): void {
  if (conf === undefined) {
    ctx.warnings.push(`-s ${slot.slot}: fbuf without options dropped`);
    return;
  }
  const video: DomainDef['devices']['videos'][number] = { model: { type: 'gop', heads: 1 } };
  if (ctx.mode === 'tsvirt') video.address = pciAddress(slot);
  const g: Extract<DomainDef['devices']['graphics'][number], { type: 'vnc' }> = { type: 'vnc', autoport: 'no', listens: [] };
  for (const param of conf.split(',')) {
    if (param === 'vga=on' || param === 'vga=off') video.driver = { vgaconf: param === 'vga=on' ? 'on' : 'off' };
    else if (param.startsWith('rfb=') || param.startsWith('tcp=')) {
      const v = param.slice(4);
      const colon = v.lastIndexOf(':');
      if (colon < 0 || !/^-?\d+$/.test(v.slice(colon + 1))) {
        ctx.warnings.push(`fbuf: cannot parse '${param}' (framebuffer dropped)`);
        return;
      }
      let addr = v.slice(0, colon);
      if (addr.startsWith('[') && addr.endsWith(']')) addr = addr.slice(1, -1);
      const address = addr === '' ? '127.0.0.1' : addr;
      g.listens = [{ type: 'address', address }];
      g.listen = address;
      g.port = Number(v.slice(colon + 1));
    } else if (param.startsWith('w=') || param.startsWith('h=')) {
      const n = param.slice(2);
      if (!/^\d+$/.test(n)) {
        ctx.warnings.push(`fbuf: cannot parse '${param}' (framebuffer dropped)`);
        return;
      }
      const res = (video.model.resolution ??= { x: 0, y: 0 });
      if (param[0] === 'w') res.x = Number(n);
      else res.y = Number(n);
    } else if (param.startsWith('password=')) {
      g.passwd = param.slice('password='.length);
    } else if (param === 'wait' && ctx.mode === 'tsvirt') {
      g.wait = 'yes';
    } else if (param !== 'vga=io' && ctx.mode === 'tsvirt') {
      ctx.warnings.push(`fbuf: option '${param}' not represented`);
    }
  }
  ctx.def.devices.videos.push(video);
  ctx.def.devices.graphics.push(g);
}

function parseRnd(ctx: ArgvParseContext, slot: Slot): void {
  ctx.def.devices.rngs.push({ model: 'virtio', backend: { model: 'random', device: '/dev/random' }, address: pciAddress(slot) });
}

function parsePassthru(ctx: ArgvParseContext, slot: Slot, conf: string | undefined): void {
  const sel = conf?.split(',')[0] ?? '';
  const m = /^(\d+)\/(\d+)\/(\d+)$/.exec(sel) ?? /^pci(\d+):(\d+):(\d+)$/.exec(sel);
  if (!m) {
    ctx.warnings.push(`passthru: cannot parse host device '${sel}' (dropped)`);
    return;
  }
  ctx.def.devices.hostdevs.push({
    mode: 'subsystem',
    type: 'pci',
    managed: 'no',
    source: { address: { domain: 0, bus: Number(m[1]), slot: Number(m[2]), function: Number(m[3]) } },
    address: pciAddress(slot),
  });
}

/** tsvirt: `ahci,hd:PATH[,opts],cd:PATH...` → one SATA disk per port. */
function parseAhci(ctx: ArgvParseContext, slot: Slot, conf: string | undefined): void {
  if (conf === undefined) return;
  for (const port of conf.split(/,(?=(?:hd|cd):)/)) {
    const m = /^(hd|cd):(.*)$/.exec(port);
    if (!m) {
      ctx.warnings.push(`ahci: port '${port}' not represented`);
      continue;
    }
    parseDisk(ctx, slot, 'sata', m[1] === 'hd' ? 'disk' : 'cdrom', m[2]!);
    // Every port of one controller shares its PCI slot: the SATA disks get drive
    // addresses from their names when the definition is completed.
    delete ctx.def.devices.disks[ctx.def.devices.disks.length - 1]?.address;
  }
}

function parseVirtio9p(ctx: ArgvParseContext, slot: Slot, conf: string | undefined): void {
  const parts = (conf ?? '').split(',');
  const share = parts[0] ?? '';
  const eq = share.indexOf('=');
  if (eq <= 0) {
    ctx.warnings.push(`virtio-9p: cannot parse '${conf ?? ''}' (dropped)`);
    return;
  }
  const fs: DomainDef['devices']['filesystems'][number] = {
    type: 'mount',
    accessmode: 'passthrough',
    source: { dir: share.slice(eq + 1) },
    target: { dir: share.slice(0, eq) },
    address: pciAddress(slot),
  };
  if (parts.includes('ro')) fs.readonly = true;
  ctx.def.devices.filesystems.push(fs);
}

function parseVirtioConsole(ctx: ArgvParseContext, slot: Slot, conf: string | undefined): void {
  const d = ctx.def.devices;
  const index = d.controllers.filter((c) => c.type === 'virtio-serial').length;
  d.controllers.push({ type: 'virtio-serial', index, ports: 16, address: pciAddress(slot) });
  let port = 1;
  for (const item of (conf ?? '').split(',').filter((x) => x !== '')) {
    const eq = item.indexOf('=');
    if (eq <= 0) {
      ctx.warnings.push(`virtio-console: port '${item}' not represented`);
      continue;
    }
    d.channels.push({
      type: 'unix',
      sources: [{ mode: 'bind', path: item.slice(eq + 1) }],
      target: { type: 'virtio', name: item.slice(0, eq) },
      address: { type: 'virtio-serial', controller: index, bus: 0, port: port++ },
    });
  }
}

/** bhyveParseBhyvePCIArg. Throws only for a malformed slot (libvirt fails the parse). */
export function parsePciArg(ctx: ArgvParseContext, arg: string): void {
  const c1 = arg.indexOf(',');
  if (c1 < 0) throw operationFailed(`Failed to parse PCI device '${arg}'`);
  const rest = arg.slice(c1 + 1);
  const c2 = rest.indexOf(',', 1);
  const emulation = c2 < 0 ? rest : rest.slice(0, c2);
  const conf = c2 < 0 ? undefined : rest.slice(c2 + 1);
  const slot = parseSlot(arg.slice(0, c1));
  if (!slot) throw operationFailed(`Failed to parse PCI slot '${arg.slice(0, c1)}'`);
  switch (emulation) {
    case 'ahci-cd':
      return parseDisk(ctx, slot, 'sata', 'cdrom', conf);
    case 'ahci-hd':
      return parseDisk(ctx, slot, 'sata', 'disk', conf);
    case 'virtio-blk':
      return parseDisk(ctx, slot, 'virtio', 'disk', conf);
    case 'virtio-net':
      return parseNet(ctx, slot, 'virtio', conf);
    case 'e1000':
      return parseNet(ctx, slot, 'e1000', conf);
    case 'fbuf':
      return parseFbuf(ctx, slot, conf);
    case 'virtio-rnd':
      return parseRnd(ctx, slot);
    case 'passthru':
      return parsePassthru(ctx, slot, conf);
    default:
      break;
  }
  if (ctx.mode === 'libvirt') return; // libvirt ignores every other emulation
  switch (emulation) {
    case 'hostbridge':
    case 'amd_hostbridge':
      return;
    case 'lpc':
      ctx.def.devices.controllers.push({ type: 'isa', index: 0, address: pciAddress(slot) });
      return;
    case 'ahci':
      return parseAhci(ctx, slot, conf);
    case 'virtio-9p':
      return parseVirtio9p(ctx, slot, conf);
    case 'virtio-console':
      return parseVirtioConsole(ctx, slot, conf);
    case 'xhci':
      if (conf === 'tablet') {
        ctx.def.devices.controllers.push({ type: 'usb', index: 0, model: 'nec-xhci', address: pciAddress(slot) });
        ctx.def.devices.inputs.push({ type: 'tablet', bus: 'usb' });
        return;
      }
      break;
    case 'hda':
      ctx.def.devices.sounds.push({ model: 'ich7', address: pciAddress(slot) });
      if (conf !== undefined) ctx.warnings.push(`hda: options '${conf}' not represented (no <audio> mapping)`);
      return;
    default:
      break;
  }
  ctx.warnings.push(`-s ${arg}: passed through as <bhyve:arg>`);
  ctx.passthrough.push('-s', arg);
}

/** Slave end of an nmdm pair: the last letter A↔B. */
function nmdmPeer(master: string): string | undefined {
  const last = master[master.length - 1];
  if (last === 'A') return `${master.slice(0, -1)}B`;
  if (last === 'B') return `${master.slice(0, -1)}A`;
  return undefined;
}

/** bhyveParseBhyveLPCArg. Throws for what libvirt fails on. */
export function parseLpcArg(ctx: ArgvParseContext, arg: string): void {
  const comma = arg.indexOf(',');
  if (comma < 0) throw operationFailed(`Failed to parse LPC device '${arg}'`);
  const type = arg.slice(0, comma);
  const param = arg.slice(comma + 1);
  const com = /^com(\d)$/.exec(type);
  if (com) {
    const n = Number(com[1]);
    const maxCom = ctx.mode === 'libvirt' ? 2 : 4;
    if (ctx.mode === 'tsvirt' && (param.startsWith('tcp=') || param === 'stdio')) {
      if (n < 1 || n > maxCom) throw operationFailed(`Failed to parse ${type}: only com1 to com${maxCom} supported.`);
      addTsvirtSerial(ctx, n - 1, param);
      return;
    }
    if (!param.startsWith('/dev/nmdm')) throw operationFailed(`Failed to set com port ${type}: does not start with '/dev/nmdm'.`);
    const slave = nmdmPeer(param);
    if (slave === undefined) throw operationFailed(`Failed to set slave for ${param}: last letter not 'A' or 'B'`);
    if (n < 1 || n > maxCom) throw operationFailed(`Failed to parse ${type}: only com1 and com2 supported.`);
    ctx.def.devices.serials.push({ type: 'nmdm', sources: [{ master: param, slave }], target: { port: n - 1 } });
    return;
  }
  if (ctx.mode === 'libvirt') return; // libvirt ignores bootrom, tpm, ...
  if (type.toLowerCase() === 'bootrom') {
    const parts = param.split(',');
    ctx.def.os.loader = { path: parts[0]!, readonly: 'yes', type: 'pflash' };
    const vars = parts[1];
    if (vars !== undefined && !vars.includes('=')) ctx.def.os.nvram = { path: vars };
    return;
  }
  if (type.toLowerCase() === 'tpm') {
    const [kind, path] = param.split(',');
    if (kind === 'passthru' && path) {
      ctx.def.devices.tpms.push({ model: 'tpm-crb', backend: { type: 'passthrough', device: { path } } });
      return;
    }
    if (kind === 'swtpm' && path) {
      ctx.def.devices.tpms.push({ model: 'tpm-crb', backend: { type: 'external', source: { type: 'unix', mode: 'connect', path } } });
      return;
    }
  }
  ctx.warnings.push(`-l ${arg}: passed through as <bhyve:arg>`);
  ctx.passthrough.push('-l', arg);
}

function addTsvirtSerial(ctx: ArgvParseContext, port: number, param: string): void {
  if (param === 'stdio') {
    ctx.def.devices.serials.push({ type: 'stdio', sources: [], target: { port } });
    return;
  }
  const hp = param.slice(4);
  const colon = hp.lastIndexOf(':');
  if (colon < 0) throw unsupported(`cannot parse serial backend '${param}'`);
  let host = hp.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  ctx.def.devices.serials.push({
    type: 'tcp',
    sources: [{ mode: 'bind', host, service: hp.slice(colon + 1) }],
    protocol: 'raw',
    target: { port },
  });
}
