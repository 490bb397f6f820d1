/**
 * One builder per device kind (libvirt bhyve_command.c bhyveBuild*ArgStr): each turns a
 * device of the DomainDef into a `PciSlotSpec` — its `-s` emulation and option string as
 * libvirt's bhyve driver writes them, and the same settings as bhyve_config(5) keys —
 * or refuses it with VIR_ERR_CONFIG_UNSUPPORTED naming what is not supported.
 *
 * Covered: AHCI (SATA hd/cd, 32 ports or one per controller), virtio-blk, NVMe, virtio-scsi
 * (CAM target), virtio-net/e1000 (tap, slirp), xhci+tablet, LPC, virtio-console, fbuf
 * (VNC), hda, virtio-9p, virtio-rnd, passthru. Block options beyond libvirt's (ro, nocache,
 * direct, sectorsize, nodelete) are tsvirt's, from `<readonly/>`, `<driver cache discard>`
 * and `<blockio>`. Called once per translation; addresses must already be assigned.
 */

import type {
  AudioDef,
  ControllerDef,
  DeviceInfo,
  DiskDef,
  DomainDef,
  FilesystemDef,
  GraphicsDef,
  HostdevDef,
  InterfaceDef,
  RngDef,
  SoundDef,
  VideoDef,
} from '../xml/types.js';
import { type BhyveHost, hasCap } from './capabilities.js';
import { diskBus } from './domain.js';
import { internalError, unsupported } from './errors.js';
import type { PciSlotSpec, PlannedInterface } from './plan.js';

/** An option of a device: `name=value`, or a bare flag (`ro`) when value is undefined. */
type Opt = [name: string, value: string | undefined];

/** Seams the caller provides (tap names, VNC ports, network resolution). */
export interface DeviceContext {
  host: BhyveHost;
  def: DomainDef;
  /** Name of the tap device for interface `index` (libvirt's tests call every one faketapdev). */
  tapName(iface: InterfaceDef, index: number): string;
  /** A free VNC port for an autoport graphics device. */
  vncPort(): number;
  /** The bridge behind a libvirt network, or undefined when unknown. */
  resolveNetwork(name: string): string | undefined;
  interfaces: PlannedInterface[];
}

function renderOpts(opts: Opt[]): string {
  return opts.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join(',');
}

function optKeys(opts: Opt[], prefix = ''): Array<[string, string]> {
  return opts.map(([k, v]) => [`${prefix}${k}`, v ?? 'true']);
}

/** The PCI address a builder needs; its absence is a bug in the caller's preparation. */
function pciOf(info: DeviceInfo, what: string): { bus: number; slot: number; func: number } {
  const a = info.address;
  if (a?.type !== 'pci') throw internalError(`${what} has no PCI address`);
  return { bus: a.bus, slot: a.slot, func: a.function };
}

/**
 * A slot spec. `withFunction` prints `slot:function` (xhci, fbuf, hda, virtio-9p,
 * virtio-rnd, passthru); otherwise libvirt prints `slot:0` and the device sits at
 * function 0 whatever its address says.
 */
function spec(
  info: DeviceInfo,
  what: string,
  emulation: string,
  conf: string | undefined,
  device: string,
  keys: Array<[string, string]>,
  withFunction = false,
): PciSlotSpec {
  const a = pciOf(info, what);
  const func = withFunction ? a.func : 0;
  const out: PciSlotSpec = { bus: a.bus, slot: a.slot, func, slotText: `${a.slot}:${func}`, emulation, device, keys };
  if (conf !== undefined) out.conf = conf;
  return out;
}

/** No option value may contain the separator of bhyve's option strings. */
function noComma(value: string, what: string): string {
  if (value.includes(',')) throw unsupported(`${what} '${value}' may not contain ',' (bhyve option separator)`);
  return value;
}

/** Boot priority → `bootindex=N`. */
function bootOpt(info: DeviceInfo, opts: Opt[]): void {
  const order = info.boot?.order;
  if (order === undefined) return;
  if (!Number.isInteger(order) || order < 1 || order > 0x7fffffff) throw unsupported(`boot order '${order}' is out of range`);
  opts.push(['bootindex', String(order)]);
}

/** The file or block device behind a disk, with libvirt's type checks. */
function diskSource(disk: DiskDef): string | undefined {
  switch (disk.type) {
    case 'file':
      return disk.source?.file;
    case 'block':
      return disk.source?.dev;
    case 'volume':
      throw unsupported(`disk '${disk.target.dev}': volume sources need a storage pool, which tsvirt does not have`);
    default:
      throw unsupported(`unsupported disk type '${disk.type}' for disk '${disk.target.dev}'`);
  }
}

/** tsvirt's block options: `ro`, `nocache`, `direct`, `sectorsize=L[/P]`, `nodelete`. */
function blockOpts(disk: DiskDef, allowRo: boolean): Opt[] {
  const opts: Opt[] = [];
  const drv = disk.driver;
  if (drv?.type !== undefined && drv.type !== 'raw') {
    throw unsupported(`disk '${disk.target.dev}': format '${drv.type}' is not supported (raw only)`);
  }
  if (disk.readonly && allowRo) opts.push(['ro', undefined]);
  switch (drv?.cache) {
    case undefined:
    case 'default':
    case 'writeback':
      break;
    case 'none':
      opts.push(['nocache', undefined]);
      break;
    case 'writethrough':
      opts.push(['direct', undefined]);
      break;
    case 'directsync':
      opts.push(['nocache', undefined], ['direct', undefined]);
      break;
    default:
      throw unsupported(`disk '${disk.target.dev}': cache mode '${drv?.cache}' is not supported`);
  }
  const bio = disk.blockio;
  if (bio?.logical_block_size !== undefined || bio?.physical_block_size !== undefined) {
    const l = bio.logical_block_size ?? 512;
    const p = bio.physical_block_size;
    opts.push(['sectorsize', p !== undefined && p !== l ? `${l}/${p}` : String(l)]);
  }
  if (drv?.discard === 'ignore') opts.push(['nodelete', undefined]);
  return opts;
}

function checkSerial(serial: string | undefined, what: string): string | undefined {
  if (serial === undefined) return undefined;
  noComma(serial, what);
  if (serial.length > 20) throw unsupported(`${what} '${serial}' is longer than 20 characters`);
  return serial;
}

/** A disk's path checked for the option syntax. */
function diskPath(disk: DiskDef): string {
  const src = diskSource(disk);
  if (src === undefined) throw unsupported(`disk '${disk.target.dev}' has no source`);
  return noComma(src, `disk '${disk.target.dev}' source`);
}

/** bhyveBuildAHCIControllerArgStr. */
export function buildAhci(ctx: DeviceContext, cont: ControllerDef): PciSlotSpec {
  const ahci32 = hasCap(ctx.host, 'AHCI32SLOT');
  const disks = ctx.def.devices.disks.filter(
    (d) => diskBus(d) === 'sata' && d.address?.type === 'drive' && d.address.controller === cont.index,
  );
  const parts: string[] = [];
  const keys: Array<[string, string]> = [];
  let single: { type: string; conf: string } | undefined;
  disks.forEach((disk, port) => {
    if (disk.type !== 'file' && disk.type !== 'volume' && disk.type !== 'block') throw unsupported('unsupported disk type');
    const src = diskSource(disk);
    if (disk.device === 'cdrom' && src === undefined) throw unsupported('cdrom device without source path not supported');
    let type: 'hd' | 'cd';
    if (disk.device === 'disk') type = 'hd';
    else if (disk.device === 'cdrom') type = 'cd';
    else throw unsupported('unsupported disk device');
    const path = diskPath(disk);
    const opts = blockOpts(disk, type === 'hd');
    if (disk.target.rotation_rate !== undefined) opts.push(['nmrr', String(disk.target.rotation_rate)]);
    const ser = checkSerial(disk.serial, `serial of disk '${disk.target.dev}'`);
    if (ser !== undefined) opts.push(['ser', ser]);
    bootOpt(disk, opts);
    const conf = opts.length ? `${path},${renderOpts(opts)}` : path;
    keys.push([`port.${port}.type`, type], [`port.${port}.path`, path], ...optKeys(opts, `port.${port}.`));
    if (ahci32) parts.push(`${type}:${conf}`);
    else if (single) throw unsupported(`SATA controller ${cont.index} has more than one disk, which needs 32-port AHCI`);
    else single = { type, conf };
  });
  if (ahci32 || !single) return spec(cont, `SATA controller ${cont.index}`, 'ahci', parts.length ? parts.join(',') : undefined, 'ahci', keys);
  return spec(cont, `SATA controller ${cont.index}`, `ahci-${single.type}`, single.conf, 'ahci', keys);
}

/** bhyveBuildVirtIODiskArgStr. */
export function buildVirtioDisk(disk: DiskDef): PciSlotSpec {
  if (disk.device !== 'disk') throw unsupported('unsupported disk device');
  const path = diskPath(disk);
  const opts = blockOpts(disk, true);
  const ser = checkSerial(disk.serial, `serial of disk '${disk.target.dev}'`);
  if (ser !== undefined) opts.push(['ser', ser]);
  bootOpt(disk, opts);
  const conf = opts.length ? `${path},${renderOpts(opts)}` : path;
  return spec(disk, `disk '${disk.target.dev}'`, 'virtio-blk', conf, 'virtio-blk', [['path', path], ...optKeys(opts)]);
}

/** NVMe controller with its namespace disk (one disk per controller). */
export function buildNvme(ctx: DeviceContext, cont: ControllerDef): PciSlotSpec {
  if (!hasCap(ctx.host, 'NVME')) throw unsupported('NVMe devices are not supported by given bhyve binary');
  const disks = ctx.def.devices.disks.filter(
    (d) => diskBus(d) === 'nvme' && d.address?.type === 'drive' && d.address.controller === cont.index,
  );
  if (disks.length > 1) throw unsupported('Cannot have more than one disk per NVMe controller');
  const disk = disks[0];
  if (!disk) throw unsupported(`NVMe controller ${cont.index} has no disk`);
  if (disk.device !== 'disk') throw unsupported('unsupported disk device');
  const path = diskPath(disk);
  const opts = blockOpts(disk, true);
  if (disk.driver?.queues !== undefined) opts.push(['maxq', String(disk.driver.queues)]);
  if (disk.driver?.queue_size !== undefined) opts.push(['qsz', String(disk.driver.queue_size)]);
  const ser = checkSerial(cont.serial, `serial of NVMe controller ${cont.index}`);
  if (ser !== undefined) opts.push(['ser', ser]);
  if (disk.serial !== undefined) throw unsupported(`disk '${disk.target.dev}': NVMe serials belong on the <controller type='nvme'>`);
  if (disk.wwn !== undefined) opts.push(['eui64', noComma(disk.wwn, `wwn of disk '${disk.target.dev}'`)]);
  bootOpt(disk, opts);
  const conf = opts.length ? `${path},${renderOpts(opts)}` : path;
  return spec(cont, `NVMe controller ${cont.index}`, 'nvme', conf, 'nvme', [['path', path], ...optKeys(opts)]);
}

/** virtio-scsi controller: bhyve hands the guest a CAM target layer port. */
export function buildVirtioScsi(ctx: DeviceContext, cont: ControllerDef): PciSlotSpec {
  if (cont.model !== undefined && cont.model !== 'virtio-scsi' && cont.model !== 'auto') {
    throw unsupported(`SCSI controller model '${cont.model}' is not supported (virtio-scsi only)`);
  }
  const disks = ctx.def.devices.disks.filter(
    (d) => diskBus(d) === 'scsi' && (d.address?.type === 'drive' ? d.address.controller : 0) === cont.index,
  );
  if (disks.length > 1) throw unsupported(`SCSI controller ${cont.index}: only one CAM target (disk type='ctl') per controller`);
  const disk = disks[0];
  const opts: Opt[] = [];
  let dev: string | undefined;
  if (disk) {
    if (disk.type !== 'ctl') throw unsupported(`disk '${disk.target.dev}': SCSI disks must be CAM targets (<disk type='ctl'>)`);
    dev = disk.source?.dev;
    if (dev === undefined) throw unsupported(`disk '${disk.target.dev}' has no source dev`);
    noComma(dev, `disk '${disk.target.dev}' source`);
    bootOpt(disk, opts);
  }
  const conf = [dev, opts.length ? renderOpts(opts) : undefined].filter((x) => x !== undefined).join(',');
  const keys: Array<[string, string]> = dev === undefined ? [] : [['dev', dev]];
  return spec(cont, `SCSI controller ${cont.index}`, 'virtio-scsi', conf || undefined, 'virtio-scsi', [...keys, ...optKeys(opts)]);
}

/** bhyveBuildUSBControllerArgStr: an xhci with exactly one USB tablet. */
export function buildXhci(ctx: DeviceContext, cont: ControllerDef): PciSlotSpec {
  if (!hasCap(ctx.host, 'XHCI')) throw unsupported('xHCI controller is not supported by given bhyve binary');
  let n = 0;
  for (const input of ctx.def.devices.inputs) {
    if (input.bus !== 'usb') throw unsupported('only USB input devices are supported');
    if (input.type !== 'tablet') throw unsupported('only tablet input devices are supported');
    n++;
  }
  if (n !== 1) throw unsupported('only single input device is supported');
  return spec(cont, 'USB controller', 'xhci', 'tablet', 'xhci', [['slot.1.device', 'tablet']], true);
}

/** The LPC bridge for the ISA controller. */
export function buildLpc(cont: ControllerDef): PciSlotSpec {
  return spec(cont, 'ISA controller', 'lpc', undefined, 'lpc', []);
}

/** virtio-console: the virtio channels on this virtio-serial controller, port order. */
export function buildVirtioConsole(ctx: DeviceContext, cont: ControllerDef): PciSlotSpec {
  const ports = ctx.def.devices.channels
    .filter((c) => c.target.type === 'virtio' && c.address?.type === 'virtio-serial' && c.address.controller === cont.index)
    .map((c) => {
      if (c.type !== 'unix') throw unsupported(`channel '${c.target.name ?? ''}': only unix socket channels are supported`);
      const name = c.target.name;
      const path = c.sources[0]?.path;
      if (name === undefined) throw unsupported('virtio channel without a target name');
      if (path === undefined) throw unsupported(`channel '${name}' has no socket path`);
      if (name.includes(',') || name.includes('=')) throw unsupported("Commas (',') are not allowed in channel names");
      if (path.includes(',')) throw unsupported("Commas (',') are not allowed in UNIX socket paths");
      return { port: (c.address as { port: number }).port, name, path };
    })
    .sort((a, b) => a.port - b.port);
  const conf = ports.map((p) => `${p.name}=${p.path}`).join(',');
  const keys = ports.flatMap((p, i): Array<[string, string]> => [
    [`port.${i}.name`, p.name],
    [`port.${i}.path`, p.path],
  ]);
  return spec(cont, `virtio-serial controller ${cont.index}`, 'virtio-console', conf || undefined, 'virtio-console', keys);
}

/** bhyveBuildNetArgStr. */
export function buildNet(ctx: DeviceContext, net: InterfaceDef, index: number): PciSlotSpec {
  let model: 'virtio-net' | 'e1000';
  if (net.model === 'virtio') model = 'virtio-net';
  else if (net.model === 'e1000') {
    if (!hasCap(ctx.host, 'NET_E1000')) throw unsupported("NIC model 'e1000' is not supported by given bhyve binary");
    model = 'e1000';
  } else {
    throw unsupported(net.model === undefined ? 'NIC model is not supported' : `NIC model '${net.model}' is not supported`);
  }
  const mac = net.mac.address.toLowerCase();
  let backend: string;
  const opts: Opt[] = [['mac', mac]];
  const planned: PlannedInterface = { index, type: net.type, backend: '', mac };
  switch (net.type) {
    case 'bridge':
    case 'ethernet':
    case 'network': {
      backend = noComma(ctx.tapName(net, index), 'tap device name');
      if (net.type === 'bridge') {
        if (net.source?.bridge !== undefined) planned.bridge = net.source.bridge;
      } else if (net.type === 'network') {
        const name = net.source?.network ?? '';
        const bridge = ctx.resolveNetwork(name);
        if (bridge === undefined) {
          throw unsupported(`interface ${index}: network '${name}' cannot be resolved to a bridge (no network driver)`);
        }
        planned.bridge = bridge;
      }
      break;
    }
    case 'user':
      backend = 'slirp';
      opts.push(['open', undefined]);
      break;
    default:
      throw unsupported(`Network type '${net.type}' is not supported`);
  }
  if (net.mtu !== undefined) {
    if (model !== 'virtio-net') throw unsupported(`interface ${index}: mtu is only supported with model 'virtio'`);
    opts.push(['mtu', String(net.mtu.size)]);
  }
  planned.backend = backend;
  ctx.interfaces.push(planned);
  return spec(net, `interface ${index}`, model, `${backend},${renderOpts(opts)}`, model, [['backend', backend], ...optKeys(opts)]);
}

/** bhyveBuildGraphicsArgStr: a VNC server on a UEFI framebuffer. */
export function buildFbuf(ctx: DeviceContext, graphics: GraphicsDef, video: VideoDef): PciSlotSpec {
  const { host, def } = ctx;
  if (!hasCap(host, 'LPC_BOOTROM') || def.bootloader !== undefined || !def.os.loader) {
    throw unsupported('Graphics are only supported when booting using UEFI');
  }
  if (!hasCap(host, 'FBUF')) throw unsupported('Bhyve version does not support framebuffer');
  if (graphics.type !== 'vnc') throw unsupported('Only VNC supported');
  const opts: Opt[] = [];
  const listen = graphics.listens[0];
  const listenType = listen?.type ?? 'address';
  if (listenType === 'socket' || listenType === 'none') throw unsupported('Unsupported listen type');
  const autoport = graphics.autoport === 'yes' || graphics.port === undefined || graphics.port === -1;
  let port: number;
  if (autoport) {
    // As libvirt does at start, the allocated port shows in the live definition.
    port = ctx.vncPort();
    graphics.port = port;
  } else {
    port = graphics.port!;
    if (port < 5900 || port > 65535) throw unsupported('vnc port must be in range [5900,65535]');
  }
  const address = listen?.address ?? graphics.listen;
  const addr = address === undefined ? '' : address.includes(':') ? `[${address}]` : address;
  opts.push(['tcp', `${addr}:${port}`]);
  if (graphics.passwd !== undefined) {
    if (!hasCap(host, 'VNC_PASSWORD')) throw unsupported('VNC Password authentication not supported by bhyve');
    if (graphics.passwd.includes(',')) throw unsupported("Password may not contain ',' character");
    opts.push(['password', graphics.passwd]);
  }
  const res = video.model.resolution;
  if (res) opts.push(['w', String(res.x)], ['h', String(res.y)]);
  if (video.driver?.vgaconf !== undefined) opts.push(['vga', video.driver.vgaconf]);
  if (graphics.wait === 'yes') opts.push(['wait', undefined]);
  return spec(video, 'video', 'fbuf', renderOpts(opts), 'fbuf', optKeys(opts), true);
}

/** bhyveBuildSoundArgStr: Intel HDA with OSS devices. */
export function buildSound(ctx: DeviceContext, sound: SoundDef): PciSlotSpec {
  if (!hasCap(ctx.host, 'SOUND_HDA')) throw unsupported('Sound devices emulation is not supported by given bhyve binary');
  if (sound.model !== 'ich7') throw unsupported('Sound device model is not supported');
  const opts: Opt[] = [];
  const audio: AudioDef | undefined =
    sound.audio === undefined ? undefined : ctx.def.devices.audios.find((a) => a.id === sound.audio!.id);
  if (sound.audio !== undefined && audio === undefined) throw unsupported(`sound refers to missing <audio id='${sound.audio.id}'>`);
  if (audio) {
    if (audio.type !== 'oss') throw unsupported(`unsupported audio backend '${audio.type}'`);
    const common = (io: typeof audio.input): boolean =>
      io !== undefined &&
      (io.mixingEngine !== undefined || io.fixedSettings !== undefined || io.voices !== undefined || io.bufferLength !== undefined || io.settings !== undefined);
    if (common(audio.input) || common(audio.output)) throw unsupported('cannot set common audio backend settings');
    // libvirt feeds the input device to `play` and the output device to `rec`.
    if (audio.input?.dev !== undefined) opts.push(['play', noComma(audio.input.dev, 'audio input dev')]);
    if (audio.output?.dev !== undefined) opts.push(['rec', noComma(audio.output.dev, 'audio output dev')]);
  }
  return spec(sound, 'sound', 'hda', opts.length ? renderOpts(opts) : undefined, 'hda', optKeys(opts), true);
}

/** bhyveBuildFSArgStr: virtio-9p share. */
export function buildFs(ctx: DeviceContext, fs: FilesystemDef): PciSlotSpec {
  if (!hasCap(ctx.host, 'VIRTIO_9P')) throw unsupported('virtio-9p is not supported by given bhyve binary');
  if (fs.type !== 'mount') throw unsupported(`unsupported filesystem type '${fs.type}'`);
  if (fs.driver?.type !== undefined) throw unsupported(`unsupported filesystem driver '${fs.driver.type}'`);
  if (fs.accessmode !== undefined && fs.accessmode !== 'passthrough') {
    throw unsupported(`unsupported filesystem accessmode '${fs.accessmode}'`);
  }
  const src = fs.source?.dir;
  if (src === undefined) throw unsupported(`filesystem '${fs.target.dir}' has no source dir`);
  const share = fs.target.dir;
  if (share.includes('=') || share.includes(',')) throw unsupported(`filesystem target '${share}' may not contain ',' or '='`);
  noComma(src, 'filesystem source dir');
  const ro = fs.readonly ? ',ro' : '';
  const keys: Array<[string, string]> = [['sharename', share], ['path', src]];
  if (fs.readonly) keys.push(['ro', 'true']);
  return spec(fs, `filesystem '${share}'`, 'virtio-9p', `${share}=${src}${ro}`, 'virtio-9p', keys, true);
}

/** virtio-rnd (entropy from the host's /dev/random). */
export function buildRng(ctx: DeviceContext, rng: RngDef): PciSlotSpec {
  if (!hasCap(ctx.host, 'VIRTIO_RND')) throw unsupported('virtio-rnd is not supported by given bhyve binary');
  if (rng.model !== 'virtio') throw unsupported("Only 'virtio' RNG device model is supported");
  if (rng.backend.model !== 'random') throw unsupported("Only 'random' backend model is supported");
  if ((rng.backend.device ?? '/dev/random') !== '/dev/random') throw unsupported('Only /dev/random source is supported');
  if (rng.rate !== undefined) throw unsupported('RNG rate limiting is not supported');
  return spec(rng, 'rng', 'virtio-rnd', undefined, 'virtio-rnd', [], true);
}

/** PCI passthrough of a host function (`bus/slot/function`). */
export function buildPassthru(hostdev: HostdevDef): PciSlotSpec {
  if (hostdev.mode !== 'subsystem' || hostdev.type !== 'pci') {
    throw unsupported(`hostdev mode '${hostdev.mode}' type '${hostdev.type}' is not supported (PCI passthrough only)`);
  }
  const src = hostdev.source.address;
  if (!src) throw unsupported('PCI hostdev without a source address');
  if ((src.domain ?? 0) !== 0) throw unsupported('PCI hostdev source must be in PCI domain 0');
  const sel = `${src.bus}/${src.slot ?? 0}/${src.function ?? 0}`;
  const opts: Opt[] = [];
  bootOpt(hostdev, opts);
  if (hostdev.rom?.file !== undefined) opts.push(['rom', noComma(hostdev.rom.file, 'hostdev rom file')]);
  const conf = opts.length ? `${sel},${renderOpts(opts)}` : sel;
  const keys: Array<[string, string]> = [
    ['bus', String(src.bus)],
    ['slot', String(src.slot ?? 0)],
    ['func', String(src.function ?? 0)],
    ...optKeys(opts),
  ];
  return spec(hostdev, 'hostdev', 'passthru', conf, 'passthru', keys, true);
}
