/**
 * Device half of the QEMU/KVM → bhyve mapping (see compat.ts): disks on IDE/SCSI/USB
 * buses move to SATA, PCIe topology (pcie-root, root ports, bridges) collapses onto
 * bhyve's single PCI bus, USB controllers become the one nec-xhci bhyve has (or go when
 * nothing uses them), NIC models become virtio/e1000, SPICE becomes VNC, QXL/VGA/virtio
 * video becomes the UEFI framebuffer, HDA/AC97 sound becomes bhyve's hda, balloons,
 * watchdogs, panic devices and SPICE channels are dropped. Each change is one warning;
 * addresses that only made sense on QEMU's buses are removed so the bhyve rules
 * (address.ts) assign new ones. Unmappable devices are VIR_ERR_CONFIG_UNSUPPORTED.
 *
 * Mutates the live definition it is given.
 */

import type { ChrDef, DeviceInfo, DiskDef, DomainDef, InputDef } from '../xml/types.js';
import { type BhyveHost, hasCap } from './capabilities.js';
import { diskBus } from './domain.js';
import { unsupported } from './errors.js';

type Warn = (m: string) => void;

/**
 * True for a PCI address bhyve can keep: domain 0, bus 0, function 0, slot 2–31. Slot 1
 * is where bhyve puts its LPC bridge, so QEMU's use of it (PIIX, q35 VGA) is not kept.
 */
function keepablePci(info: DeviceInfo): boolean {
  const a = info.address;
  return a?.type === 'pci' && a.domain === 0 && a.bus === 0 && a.function === 0 && a.slot >= 2 && a.slot <= 31 && a.multifunction !== 'on';
}

/** Drops addresses bhyve cannot honour; returns whether one was dropped. */
function dropForeignAddress(info: DeviceInfo): boolean {
  const a = info.address;
  if (a === undefined || a.type === 'drive' || a.type === 'virtio-serial') return false;
  if (keepablePci(info)) return false;
  delete info.address;
  return true;
}

/** The first `vdX` name no disk uses. */
function freeVirtioName(def: DomainDef): string {
  const used = new Set(def.devices.disks.map((d) => d.target.dev));
  for (let i = 0; ; i++) {
    const name = `vd${i < 26 ? String.fromCharCode(97 + i) : String.fromCharCode(96 + Math.floor(i / 26)) + String.fromCharCode(97 + (i % 26))}`;
    if (!used.has(name)) return name;
  }
}

function adaptDisks(def: DomainDef, host: BhyveHost, warn: Warn): void {
  for (const disk of def.devices.disks) {
    const what = `disk '${disk.target.dev}'`;
    if (disk.type === 'network' || disk.type === 'nvme' || disk.type === 'vhostuser' || disk.type === 'vhostvdpa' || disk.type === 'dir') {
      throw unsupported(`${what}: source type '${disk.type}' cannot be mapped to bhyve`);
    }
    if (disk.device === 'floppy' || disk.device === 'lun') throw unsupported(`${what}: device '${disk.device}' cannot be mapped to bhyve`);
    const fmt = disk.driver?.type;
    if (fmt !== undefined && fmt !== 'raw') throw unsupported(`${what}: image format '${fmt}' cannot be used by bhyve (raw only)`);
    const bus = diskBus(disk);
    const toSata = bus === 'ide' || bus === 'usb' || bus === 'fdc' || bus === 'xen' || bus === 'sd' || (bus === 'scsi' && disk.type !== 'ctl');
    if (toSata || (disk.device === 'cdrom' && bus !== 'sata')) {
      warn(`${what}: bus '${bus}' mapped to 'sata'`);
      disk.target.bus = 'sata';
      delete disk.address;
    }
    if (diskBus(disk) === 'nvme' && !hasCap(host, 'NVME')) {
      const name = freeVirtioName(def);
      warn(`${what}: NVMe is not available with this bhyve: mapped to virtio disk '${name}'`);
      disk.target = { ...disk.target, dev: name, bus: 'virtio' };
      delete disk.address;
    }
    if (disk.model !== undefined && disk.model !== 'virtio') {
      warn(`${what}: model '${disk.model}' mapped to 'virtio'`);
      disk.model = 'virtio';
    }
    const drv = disk.driver;
    if (drv) {
      const dropped = (['io', 'ioeventfd', 'event_idx', 'copy_on_read', 'detect_zeroes', 'iothread', 'error_policy', 'rerror_policy', 'queues', 'queue_size', 'metadata_cache'] as const).filter(
        (k) => drv[k] !== undefined && !(k === 'io' && drv.io === 'threads') && !((k === 'queues' || k === 'queue_size') && diskBus(disk) === 'nvme'),
      );
      for (const k of dropped) delete drv[k];
      if (dropped.length) warn(`${what}: driver settings ${dropped.join(', ')} dropped`);
      if (drv.cache === 'unsafe') {
        warn(`${what}: cache 'unsafe' mapped to 'writeback'`);
        drv.cache = 'writeback';
      }
    }
    if (disk.iotune !== undefined) {
      warn(`${what}: <iotune> dropped`);
      delete disk.iotune;
    }
    for (const k of ['geometry', 'transient', 'vendor', 'product'] as const) {
      if (disk[k] !== undefined) {
        warn(`${what}: <${k}> dropped`);
        delete disk[k];
      }
    }
    if (disk.wwn !== undefined && diskBus(disk) !== 'nvme') {
      warn(`${what}: <wwn> dropped (NVMe only)`);
      delete disk.wwn;
    }
    if (disk.shareable !== undefined) throw unsupported(`${what}: <shareable> cannot be honoured by bhyve`);
    if (disk.target.removable !== undefined) delete disk.target.removable;
    if (disk.source?.startupPolicy !== undefined) {
      warn(`${what}: startupPolicy dropped`);
      delete disk.source.startupPolicy;
    }
    if (disk.serial !== undefined && (disk.serial.includes(',') || disk.serial.length > 20)) {
      warn(`${what}: serial '${disk.serial}' dropped (bhyve: at most 20 characters, no commas)`);
      delete disk.serial;
    }
  }
}

const PCI_TOPOLOGY_MODELS = new Set([
  'pcie-root',
  'pcie-root-port',
  'pci-bridge',
  'dmi-to-pci-bridge',
  'pcie-switch-upstream-port',
  'pcie-switch-downstream-port',
  'pci-expander-bus',
  'pcie-expander-bus',
  'pcie-to-pci-bridge',
]);

function adaptControllers(def: DomainDef, host: BhyveHost, warn: Warn): void {
  const d = def.devices;
  const before = d.controllers.length;
  const removed: string[] = [];
  const hasTablet = hasCap(host, 'XHCI') && d.inputs.some((i) => i.type === 'tablet' && i.bus === 'usb');
  const scsiDisks = d.disks.some((x) => diskBus(x) === 'scsi');
  let usbKept = false;
  d.controllers = d.controllers.filter((c) => {
    switch (c.type) {
      case 'pci':
        if (c.model === 'pci-root') return true;
        if (c.model === undefined || PCI_TOPOLOGY_MODELS.has(c.model)) {
          removed.push(`pci ${c.model ?? ''} ${c.index}`.replace('  ', ' '));
          return false;
        }
        return true;
      case 'usb':
        if (hasTablet && !usbKept && c.model !== 'none') {
          usbKept = true;
          if (c.model !== 'nec-xhci') warn(`USB controller '${c.model ?? 'default'}' mapped to nec-xhci`);
          c.model = 'nec-xhci';
          c.index = 0;
          delete c.ports;
          delete c.master;
          return true;
        }
        removed.push(`usb ${c.model ?? 'default'} ${c.index}`);
        return false;
      case 'ide':
      case 'fdc':
        removed.push(`${c.type} ${c.index}`);
        return false;
      case 'scsi':
        if (scsiDisks) return true;
        removed.push(`scsi ${c.model ?? ''} ${c.index}`.replace('  ', ' '));
        return false;
      case 'virtio-serial':
        if (c.ports !== undefined && c.ports > 16) {
          warn(`virtio-serial controller ${c.index}: ${c.ports} ports reduced to bhyve's 16`);
          c.ports = 16;
        }
        if (c.vectors !== undefined) delete c.vectors;
        return true;
      case 'ccid':
        throw unsupported('smartcard (ccid) controllers cannot be mapped to bhyve');
      default:
        return true;
    }
  });
  if (removed.length > 0) warn(`${before - d.controllers.length} controller(s) removed (bhyve has one PCI bus): ${removed.join(', ')}`);
  if (hasTablet && !usbKept) {
    d.controllers.push({ type: 'usb', index: 0, model: 'nec-xhci' });
    warn('nec-xhci USB controller added for the USB tablet');
  }
  for (const c of d.controllers) {
    for (const k of ['driver', 'target', 'modelName', 'pcihole64'] as const) delete c[k];
  }
}

function adaptNets(def: DomainDef, host: BhyveHost, warn: Warn): void {
  def.devices.interfaces.forEach((n, i) => {
    const what = `interface ${i} (${n.mac.address})`;
    if (!['bridge', 'network', 'ethernet', 'user', 'udp'].includes(n.type)) throw unsupported(`${what}: type '${n.type}' cannot be mapped to bhyve`);
    if (n.type === 'user' && !hasCap(host, 'NET_SLIRP')) {
      throw unsupported(`${what}: user-mode networking (slirp) is not available with this bhyve: use type='udp' or a bridge`);
    }
    for (const k of ['virtualport', 'vlan', 'filterref', 'bandwidth', 'teaming', 'backenddomain'] as const) {
      if (n[k] !== undefined) throw unsupported(`${what}: <${k}> cannot be honoured by bhyve`);
    }
    if (n.model === undefined) {
      warn(`${what}: no model given (QEMU's default is an emulated NIC): using virtio`);
      n.model = 'virtio';
    } else if (n.model === 'e1000e' || n.model === 'rtl8139' || n.model === 'ne2k_pci' || n.model === 'pcnet') {
      warn(`${what}: model '${n.model}' mapped to 'e1000'`);
      n.model = 'e1000';
    } else if (n.model === 'virtio-transitional' || n.model === 'virtio-non-transitional') {
      n.model = 'virtio';
    }
    if (n.model === 'e1000' && !hasCap(host, 'NET_E1000')) {
      warn(`${what}: e1000 is not available with this bhyve: model mapped to 'virtio'`);
      n.model = 'virtio';
    }
    const keys = (['driver', 'tune', 'coalesce', 'backend', 'script', 'downscript', 'guest', 'trustGuestRxFilters', 'port'] as const).filter(
      (k) => n[k] !== undefined,
    );
    for (const k of keys) delete n[k];
    const dropped: string[] = [...keys];
    if (n.link?.state === 'up') delete n.link;
    if ((n.routes?.length ?? 0) > 0) dropped.push('routes');
    delete n.routes;
    if (n.rom !== undefined) {
      dropped.push('rom');
      delete n.rom;
    }
    if (n.boot !== undefined) {
      dropped.push('boot order (network boot)');
      delete n.boot;
    }
    if (dropped.length) warn(`${what}: ${dropped.join(', ')} dropped`);
  });
}

function adaptChardevs(def: DomainDef, host: BhyveHost, warn: Warn, channelDir: string): void {
  const d = def.devices;
  const extra = hasCap(host, 'SERIAL_BACKENDS');
  const consoleSocket = hasCap(host, 'CONSOLE_SOCKET');
  const serialOk = (c: ChrDef): boolean =>
    c.type === 'nmdm' || c.type === 'tcp' || (consoleSocket && c.type === 'pty') || (extra && ['stdio', 'file', 'unix', 'null'].includes(c.type));
  for (const s of d.serials) {
    if (consoleSocket && s.type === 'vc') {
      // A virtual console has no meaning without a display: serve it like a pty.
      s.type = 'pty';
      warn(`serial port ${s.target.port ?? 0}: vc mapped to a pty console (tsvirsh console)`);
    }
    if (!consoleSocket && (s.type === 'pty' || s.type === 'vc')) {
      // bhyve has no pseudo-terminal backend: a listening socket (tsbhyve) or an nmdm pair.
      const port = s.target.port ?? 0;
      if (extra) {
        const path = `${channelDir}/${def.name}.serial${port}`;
        s.type = 'unix';
        s.sources = [{ mode: 'bind', path }];
        warn(`serial port ${port}: pty mapped to a listening unix socket ${path} (tsvirsh console)`);
      } else {
        s.type = 'nmdm';
        s.sources = [];
        warn(`serial port ${port}: pty mapped to an nmdm pair`);
      }
    }
    if (s.type === 'unix' && s.sources[0]?.mode === 'connect') throw unsupported('serial port connecting to a unix socket cannot be mapped (bhyve listens)');
    if (!serialOk(s)) throw unsupported(`serial port of type '${s.type}' cannot be mapped to bhyve`);
    if (s.target.type === 'isa-serial') delete s.target.type;
    if (s.target.model === 'isa-serial') delete s.target.model;
    if (s.log !== undefined) {
      warn('serial <log> dropped');
      delete s.log;
    }
  }
  const consoles = d.consoles.filter((c) => c.target.type === undefined || c.target.type === 'serial');
  if (consoles.length !== d.consoles.length) warn('virtio/other consoles dropped (bhyve consoles are serial ports)');
  // The serial console is an alias of serial[0]: it follows the mapping above.
  const first = d.serials[0];
  for (const c of consoles) {
    if (!first) continue;
    c.type = first.type;
    c.sources = first.sources.map((x) => ({ ...x }));
  }
  d.consoles = consoles;
  const channels: ChrDef[] = [];
  for (const ch of d.channels) {
    if (ch.target.type === 'virtio' && ch.type === 'unix') {
      const src = (ch.sources[0] ??= {});
      if (src.path === undefined) {
        src.path = `${channelDir}/${def.name}.${ch.target.name ?? 'channel'}`;
        warn(`channel '${ch.target.name ?? ''}' socket placed at ${src.path}`);
      }
      src.mode = 'bind';
      if (ch.address?.type === 'virtio-serial' && ch.address.port === 0) delete ch.address;
      channels.push(ch);
    } else {
      warn(`channel '${ch.target.name ?? ch.type}' (${ch.type}/${ch.target.type ?? ''}) dropped`);
    }
  }
  d.channels = channels;
  if (d.parallels.length > 0) throw unsupported('parallel ports cannot be mapped to bhyve');
}

function adaptInputs(def: DomainDef, host: BhyveHost, warn: Warn): void {
  const d = def.devices;
  const tablets = hasCap(host, 'XHCI') ? d.inputs.filter((i) => i.type === 'tablet' && i.bus === 'usb') : [];
  const kept: InputDef[] = [];
  if (tablets.length > 0) kept.push(tablets[0]!);
  const droppedNote = d.inputs.filter((i) => !kept.includes(i)).map((i) => `${i.type}/${i.bus ?? 'default'}`);
  const ps2Only = tablets.length === 0;
  if (ps2Only) {
    // Without a tablet, PS/2 devices stay (bhyve's LPC has the PS/2 controller).
    const ps2 = d.inputs.filter((i) => (i.type === 'mouse' || i.type === 'keyboard') && (i.bus === 'ps2' || i.bus === undefined));
    d.inputs = ps2;
    const other = droppedNote.filter((n) => !n.endsWith('/ps2') && !n.endsWith('/default'));
    if (other.length) warn(`input devices dropped: ${other.join(', ')}`);
    return;
  }
  d.inputs = kept;
  if (droppedNote.length) warn(`input devices dropped: ${droppedNote.join(', ')} (bhyve's xHCI has one tablet; its LPC always has PS/2)`);
}

function adaptGraphics(def: DomainDef, host: BhyveHost, warn: Warn): void {
  const d = def.devices;
  if (d.graphics.length > 0 && !(hasCap(host, 'FBUF') && hasCap(host, 'LPC_BOOTROM'))) {
    warn(`graphics (${d.graphics.map((g) => g.type).join(', ')}) and video dropped: this bhyve has no framebuffer, the guest runs headless`);
    d.graphics = [];
    d.videos = [];
    return;
  }
  const vnc = d.graphics.filter((g) => g.type === 'vnc');
  const spice = d.graphics.find((g) => g.type === 'spice');
  if (vnc.length === 0 && spice && spice.type === 'spice') {
    warn('SPICE graphics mapped to VNC');
    const g: DomainDef['devices']['graphics'][number] = { type: 'vnc', listens: spice.listens };
    if (spice.autoport !== undefined) g.autoport = spice.autoport;
    if (spice.port !== undefined) g.port = spice.port;
    if (spice.listen !== undefined) g.listen = spice.listen;
    if (spice.passwd !== undefined && !spice.passwd.includes(',')) g.passwd = spice.passwd;
    vnc.push(g);
  }
  if (d.graphics.length > vnc.length) {
    const others = d.graphics.filter((g) => g.type !== 'vnc').map((g) => g.type);
    if (others.length) warn(`graphics ${others.join(', ')} ${spice && vnc.length ? 'replaced' : 'dropped'}`);
  }
  d.graphics = vnc.slice(0, 1);
  if (vnc.length > 1) warn('extra VNC servers dropped (bhyve has one framebuffer)');
  for (const g of d.graphics) {
    if (g.type !== 'vnc') continue;
    const keys = (['websocket', 'keymap', 'sharePolicy', 'passwdValidTo', 'connected', 'powerControl', 'audio'] as const).filter((k) => g[k] !== undefined);
    for (const k of keys) delete g[k];
    const dropped: string[] = [...keys];
    if (g.passwd?.includes(',')) {
      dropped.push('password with a comma');
      delete g.passwd;
    }
    g.listens = g.listens.filter((l) => l.type === 'address' || l.type === 'network');
    if (dropped.length) warn(`VNC settings dropped: ${dropped.join(', ')}`);
  }
  if (d.graphics.length === 0) {
    if (d.videos.some((v) => v.model.type !== 'none')) warn('video devices dropped (no VNC graphics to show them)');
    d.videos = [];
    return;
  }
  const first = d.videos[0];
  if (first && first.model.type !== 'gop') warn(`video model '${first.model.type}' mapped to 'gop' (UEFI framebuffer)`);
  if (d.videos.length > 1) warn('extra video devices dropped (bhyve has one framebuffer)');
  if (first) {
    const video = { ...first, model: { type: 'gop' as const, heads: 1, ...(first.model.resolution ? { resolution: first.model.resolution } : {}) } };
    if (video.driver?.name !== undefined) delete video.driver;
    if (!keepablePci(video)) delete video.address;
    d.videos = [video];
  }
}

function adaptSound(def: DomainDef, host: BhyveHost, warn: Warn): void {
  const d = def.devices;
  if (d.sounds.length > 0 && !hasCap(host, 'SOUND_HDA')) {
    warn(`sound (${d.sounds.map((x) => x.model).join(', ')}) dropped: this bhyve has no audio device`);
    d.sounds = [];
    d.audios = [];
    return;
  }
  if (d.sounds.length > 1) {
    warn('extra sound devices dropped (bhyve has one hda)');
    d.sounds = d.sounds.slice(0, 1);
  }
  for (const s of d.sounds) {
    if (s.model !== 'ich7') {
      warn(`sound model '${s.model}' mapped to bhyve's hda (ich7)`);
      s.model = 'ich7';
    }
    delete s.codecs;
    const audio = s.audio === undefined ? undefined : d.audios.find((a) => a.id === s.audio!.id);
    if (audio && audio.type !== 'oss') {
      warn(`audio backend '${audio.type}' dropped (bhyve plays through OSS devices)`);
      delete s.audio;
    }
  }
  const used = new Set(d.sounds.flatMap((s) => (s.audio ? [s.audio.id] : [])));
  d.audios = d.audios.filter((a) => used.has(a.id));
}

function adaptMisc(def: DomainDef, host: BhyveHost, warn: Warn): void {
  const d = def.devices;
  if (d.rngs.length > 0 && !hasCap(host, 'VIRTIO_RND')) {
    warn('rng dropped: this bhyve has no virtio-rnd');
    d.rngs = [];
  }
  const drop = (name: string, n: number): void => {
    if (n > 0) warn(`${n} <${name}> device(s) dropped`);
  };
  if (d.memballoon && d.memballoon.model !== 'none') warn(`memballoon '${d.memballoon.model}' dropped (no balloon)`);
  delete d.memballoon;
  drop('watchdog', d.watchdogs.length);
  d.watchdogs = [];
  drop('panic', d.panics.length);
  d.panics = [];
  drop('redirdev', d.redirdevs.length);
  d.redirdevs = [];
  drop('redirfilter', d.redirfilters.length);
  d.redirfilters = [];
  drop('hub', d.hubs.length);
  d.hubs = [];
  if (d.iommu) {
    warn('<iommu> dropped');
    delete d.iommu;
  }
  if (d.emulator !== undefined) {
    warn(`emulator '${d.emulator}' replaced by bhyve`);
    delete d.emulator;
  }
  for (const [name, list] of [['smartcard', d.smartcards], ['shmem', d.shmems], ['memory', d.memories], ['crypto', d.cryptos], ['lease', d.leases]] as const) {
    if (list.length > 0) throw unsupported(`<${name}> devices cannot be mapped to bhyve`);
  }
  if (d.vsock) throw unsupported('<vsock> cannot be mapped to bhyve');
  for (const r of d.rngs) {
    if (r.model !== 'virtio') {
      warn(`rng model '${r.model}' mapped to 'virtio'`);
      r.model = 'virtio';
    }
    if (r.backend.model === 'egd') throw unsupported('rng backend egd cannot be mapped to bhyve');
    if (r.backend.model === 'builtin' || (r.backend.device ?? '/dev/random') !== '/dev/random') {
      warn(`rng backend ${r.backend.model === 'builtin' ? 'builtin' : r.backend.device} mapped to /dev/random`);
      r.backend = { model: 'random', device: '/dev/random' };
    }
    if (r.rate !== undefined) {
      warn('rng rate limit dropped');
      delete r.rate;
    }
    delete r.driver;
  }
  if (d.rngs.length > 1) {
    warn('extra rng devices dropped');
    d.rngs = d.rngs.slice(0, 1);
  }
  for (const fs of d.filesystems) {
    if (fs.driver?.type === 'virtiofs') throw unsupported(`filesystem '${fs.target.dir}': virtiofs cannot be mapped to bhyve (virtio-9p only)`);
    if (fs.driver?.type === 'path' || fs.driver?.type === 'handle') {
      warn(`filesystem '${fs.target.dir}': driver '${fs.driver.type}' dropped`);
      delete fs.driver;
    }
    if (fs.accessmode === 'mapped' || fs.accessmode === 'squash') throw unsupported(`filesystem '${fs.target.dir}': accessmode '${fs.accessmode}' cannot be honoured`);
    delete fs.model;
  }
  for (const t of d.tpms) {
    if (t.backend.type === 'emulator') throw unsupported("TPM backend 'emulator' cannot be mapped: run swtpm and use backend type='external'");
  }
}

/**
 * `<os><boot dev>` order → per-device boot indexes when the UEFI firmware boots the guest
 * (bhyve passes `bootindex=` through fw_cfg; the firmware ignores the os/boot list).
 */
function mapBootOrder(def: DomainDef, warn: Warn): void {
  const os = def.os;
  if ((!os.loader && os.firmware !== 'efi') || def.bootloader !== undefined || os.boots.length === 0) return;
  const d = def.devices;
  if ([...d.disks, ...d.interfaces, ...d.hostdevs].some((x) => x.boot !== undefined)) return;
  const used = new Set<DiskDef>();
  const mapped: string[] = [];
  let order = 1;
  for (const dev of os.boots) {
    const want = dev === 'cdrom' ? 'cdrom' : dev === 'hd' ? 'disk' : undefined;
    const disk = d.disks.find((x) => x.device === want && !used.has(x));
    if (!disk) continue;
    used.add(disk);
    disk.boot = { order };
    mapped.push(`${disk.target.dev}=${order++}`);
  }
  warn(`<boot dev='${os.boots.join(',')}'> mapped to disk boot order for the UEFI firmware${mapped.length ? ` (${mapped.join(', ')})` : ''}`);
  os.boots = [];
}

/** Device mappings; see the module header. */
export function adaptForeignDevices(def: DomainDef, host: BhyveHost, warn: Warn, channelDir: string): void {
  adaptDisks(def, host, warn);
  adaptControllers(def, host, warn);
  adaptNets(def, host, warn);
  adaptChardevs(def, host, warn, channelDir);
  adaptInputs(def, host, warn);
  adaptGraphics(def, host, warn);
  adaptSound(def, host, warn);
  adaptMisc(def, host, warn);
  mapBootOrder(def, warn);
  let moved = 0;
  const each = (info: DeviceInfo): void => {
    if (dropForeignAddress(info)) moved++;
  };
  const d = def.devices;
  [...d.disks, ...d.controllers, ...d.interfaces, ...d.videos, ...d.sounds, ...d.filesystems, ...d.rngs, ...d.hostdevs, ...d.inputs].forEach(each);
  if (moved > 0) warn(`${moved} device address(es) outside bhyve's PCI bus 0 reassigned`);
  // Input devices have no PCI address in bhyve (tablet on xhci, PS/2 on LPC).
  for (const i of d.inputs) delete i.address;
  for (const disk of d.disks as DiskDef[]) {
    if (disk.address?.type === 'drive' && diskBus(disk) === 'sata' && disk.address.controller > 0 && disk.address.unit > 31) delete disk.address;
  }
}
