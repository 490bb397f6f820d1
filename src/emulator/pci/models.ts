/**
 * Factories of the PCI device models: one builder per model turning a `pci.B.S.F` node
 * into a device on its PCI function (bhyve's pe_init functions; keys as bhyve_config(5)
 * names them plus tsbhyve's `transport`). Each builder validates its keys and opens its
 * backends; failures are ConfigErrors (exit 4) naming the slot and the key or file.
 *
 * Called once per device at assembly; registers closers so the machine can flush and
 * close backends when the VM stops.
 */
import type { AhciPortConfig } from '../ahci/device.js';
import type { BlockBackend } from '../backends/block/backend.js';
import { openBlockBackend } from '../backends/block/open.js';
import { openNetBackend } from '../backends/net/open.js';
import { openSerialBackend, type SerialOpenContext } from '../backends/serial/open.js';
import { ConfigError, EXIT_ERROR } from '../config/errors.js';
import type { ConfigNode, ConfigTree } from '../config/tree.js';
import { parseInteger } from '../config/values.js';
import type { Logger } from '../log.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { LpcBridge } from '../lpc/bridge.js';
import type { GuestConsole } from '../gui/console.js';
import type { DeviceMemory } from '../memory/device-memory.js';
import type { PortBus } from '../bus/port-bus.js';
import { VirtioBlock } from '../virtio/block/device.js';
import type { ConsolePort } from '../virtio/console/device.js';
import { VirtioNet, defaultMac, parseMac } from '../virtio/net/device.js';
import { VirtioPciTransport, type VirtioTransportMode } from '../virtio/pci.js';
import { VirtioRng } from '../virtio/rng/index.js';
import type { VirtioDevice } from '../virtio/device.js';
import type { PciFunction } from './function.js';
import type { PciHost } from './host.js';
import { HostBridge } from './hostbridge.js';
import { findPciEmulationSyntax } from '../config/pci-slot.js';
import { isImplementedPciModel } from './registry.js';

export interface PciModelContext {
  tree: ConfigTree;
  host: PciHost;
  memory: GuestMemory;
  log: Logger;
  vmName: string;
  serial: SerialOpenContext;
  /** Closers run when the machine stops (flush and close backends). */
  closers: Array<() => Promise<void>>;
  /** Set by the `lpc` model: the bridge, for PIRQ register mirroring. */
  lpcBridge?: LpcBridge;
  /** Devices with `bootindex`, for the fw_cfg `bootorder` file. */
  bootDevices: Array<{ index: number; slot: number; func: number; name: string }>;
  /** The guest console shared by the framebuffer (fbuf) and input devices (xhci tablet). */
  console?: GuestConsole;
  /** The I/O port bus, for models with fixed legacy ports (fbuf's VGA registers). */
  ports?: PortBus;
  /** Device memory the vmm maps into the guest (fbuf's framebuffer), where the vmm has it. */
  deviceMemory?: DeviceMemory;
}

/** Builds one device model on its PCI function from its `pci.B.S.F` node. */
export type PciModelBuilder = (ctx: PciModelContext, fn: PciFunction, node: ConfigNode) => Promise<void>;
type Builder = PciModelBuilder;

/** A configuration error naming the slot (bhyve's `pci slot B:S:F: ...`, exit 4). */
export function slotError(fn: PciFunction, msg: string): ConfigError {
  return new ConfigError(`pci slot ${fn.bus}:${fn.slot}:${fn.func}: ${msg}`, EXIT_ERROR, { prefixed: false });
}

function transportOf(ctx: PciModelContext, node: ConfigNode, fn: PciFunction): VirtioTransportMode {
  const t = node.get('transport') ?? ctx.tree.get('virtio.transport') ?? 'transitional';
  if (t !== 'legacy' && t !== 'modern' && t !== 'transitional') throw slotError(fn, `invalid transport '${t}' (legacy, modern or transitional)`);
  return t;
}

/** Puts a virtio device on its function through the PCI transport (mode and MSI-X from the tree). */
export function virtio(ctx: PciModelContext, fn: PciFunction, node: ConfigNode, dev: VirtioDevice): void {
  new VirtioPciTransport(fn, dev, {
    mode: transportOf(ctx, node, fn),
    msix: ctx.tree.getBool('virtio_msix', true),
    memory: ctx.memory,
    log: ctx.log,
  });
}

/** Opens the block backend of a node, closed with the machine. */
export async function openBlock(ctx: PciModelContext, fn: PciFunction, node: ConfigNode): Promise<BlockBackend> {
  try {
    const be = await openBlockBackend(node);
    ctx.closers.push(() => be.close());
    return be;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw slotError(fn, (e as Error).message);
  }
}

/** Registers `bootindex` for the fw_cfg bootorder file. */
export function bootIndex(ctx: PciModelContext, fn: PciFunction, node: ConfigNode): void {
  const v = node.get('bootindex');
  if (v === undefined) return;
  const n = parseInteger(v, 0);
  if (n === undefined) throw new ConfigError(`Invalid bootindex ${v} for ${fn.name}`, EXIT_ERROR);
  const clash = ctx.bootDevices.find((d) => d.index === n);
  if (clash) throw new ConfigError(`Could not set bootindex ${n} for ${fn.name}. Bootindex already occupied by ${clash.name}`, EXIT_ERROR);
  ctx.bootDevices.push({ index: n, slot: fn.slot, func: fn.func, name: fn.name });
}

const builders: Record<string, Builder> = {
  async hostbridge(_ctx, fn, node) {
    new HostBridge(fn, node);
  },
  async lpc(ctx, fn) {
    if (ctx.lpcBridge) throw new ConfigError('Only one LPC bridge is allowed.', EXIT_ERROR, { prefixed: false });
    ctx.lpcBridge = new LpcBridge(fn, ctx.tree.findNode('lpc'), ctx.host.pirq);
  },
  async dummy(_ctx, fn) {
    const { DummyDevice } = await import('./dummy.js');
    new DummyDevice(fn);
  },
  async 'virtio-rnd'(ctx, fn, node) {
    virtio(ctx, fn, node, new VirtioRng());
  },
  async 'virtio-blk'(ctx, fn, node) {
    const be = await openBlock(ctx, fn, node);
    const ser = node.get('ser') ?? node.get('serial');
    if (ser !== undefined && ser.length > 20) throw slotError(fn, `serial '${ser}' is longer than 20 characters`);
    bootIndex(ctx, fn, node);
    virtio(ctx, fn, node, new VirtioBlock(be, ctx.log, ser));
  },
  async 'virtio-net'(ctx, fn, node) {
    let mac: Uint8Array;
    const macStr = node.get('mac');
    try {
      mac = macStr !== undefined ? parseMac(macStr) : defaultMac(fn.slot, fn.func, ctx.vmName);
    } catch (e) {
      throw slotError(fn, (e as Error).message);
    }
    const mtuStr = node.get('mtu');
    let mtu: number | undefined;
    if (mtuStr !== undefined) {
      mtu = parseInteger(mtuStr, 46, 65535);
      if (mtu === undefined) throw slotError(fn, `Invalid MTU ${mtuStr}`);
    }
    let be;
    try {
      be = await openNetBackend(node);
    } catch (e) {
      throw slotError(fn, (e as Error).message);
    }
    const backend = be;
    ctx.closers.push(() => backend.close());
    virtio(ctx, fn, node, new VirtioNet(backend, mac, mtu));
  },
  async 'virtio-console'(ctx, fn, node) {
    const portsNode = node.find('port');
    const ports: ConsolePort[] = [];
    for (let i = 0; i < 16; i++) {
      const p = portsNode?.find(String(i));
      if (!p) break;
      const name = p.get('name');
      const path = p.get('path');
      if (!name || !path) throw slotError(fn, `port.${i} needs a name and a path`);
      try {
        const backend = await openSerialBackend(`unix=${path}`, ctx.serial);
        ctx.closers.push(() => backend.close());
        ports.push({ name, backend: backend as ConsolePort['backend'] });
      } catch (e) {
        throw slotError(fn, (e as Error).message);
      }
    }
    const { VirtioConsole } = await import('../virtio/console/device.js');
    virtio(ctx, fn, node, new VirtioConsole(ports));
  },
  async ahci(ctx, fn, node) {
    const portsNode = node.find('port');
    const configs: AhciPortConfig[] = [];
    for (let i = 0; i < 32; i++) {
      const p = portsNode?.find(String(i));
      const type = p?.get('type');
      if (!p || type === undefined) continue;
      if (type !== 'hd' && type !== 'cd') throw slotError(fn, `port.${i}.type '${type}' is neither hd nor cd`);
      const backend = await openBlock(ctx, fn, p);
      const nmrr = p.get('nmrr');
      const ser = p.get('ser');
      const model = p.get('model');
      const rev = p.get('rev');
      configs.push({
        port: i,
        type,
        backend,
        path: p.get('path')!,
        ser: ser?.slice(0, 20),
        model: model?.slice(0, 40),
        rev: rev?.slice(0, 8),
        nmrr: nmrr !== undefined ? parseInteger(nmrr, 0, 0xffff) : undefined,
      });
      bootIndex(ctx, fn, p);
    }
    const { AhciController } = await import('../ahci/device.js');
    const ahci = new AhciController(fn, ctx.memory, configs, ctx.log);
    ctx.closers.push(() => ahci.idle());
  },
  // Models that typical guests do not use are loaded when a slot names them: their code
  // (and that of their backends: RFB server, 9P server, USB stack...) stays out of the VM
  // process's start-up.
  async nvme(ctx, fn, node) {
    await (await import('../nvme/model.js')).buildNvme(ctx, fn, node);
  },
  async 'virtio-9p'(ctx, fn, node) {
    await (await import('../virtio/9p/model.js')).buildVirtio9p(ctx, fn, node);
  },
  async e1000(ctx, fn, node) {
    await (await import('../e1000/model.js')).buildE1000(ctx, fn, node);
  },
  async xhci(ctx, fn, node) {
    await (await import('../usb/model.js')).buildXhci(ctx, fn, node);
  },
  async fbuf(ctx, fn, node) {
    await (await import('../fbuf/model.js')).buildFbuf(ctx, fn, node);
  },
};

/** Builds the device of one `pci.B.S.F` node. */
export async function buildPciDevice(ctx: PciModelContext, bus: number, slot: number, func: number, node: ConfigNode): Promise<void> {
  const emul = node.get('device');
  if (emul === undefined) throw new ConfigError(`pci slot ${bus}:${slot}:${func}: missing "device" value`, EXIT_ERROR, { prefixed: false });
  const syntax = findPciEmulationSyntax(emul);
  if (!syntax) throw new ConfigError(`pci slot ${bus}:${slot}:${func}: unknown device "${emul}"`, EXIT_ERROR, { prefixed: false });
  if (syntax.alias) {
    throw new ConfigError(`pci slot ${bus}:${slot}:${func}: legacy device "${emul}", use "${syntax.alias}" instead`, EXIT_ERROR, { prefixed: false });
  }
  const build = builders[emul];
  if (!build || !isImplementedPciModel(emul)) {
    throw new ConfigError(`pci slot ${bus}:${slot}:${func}: device model "${emul}" is not supported by tsbhyve`, EXIT_ERROR, { prefixed: false });
  }
  const fn = ctx.host.createFunction(bus, slot, func, emul);
  try {
    await build(ctx, fn, node);
  } catch (e) {
    ctx.host.discardFunction(fn);
    throw e;
  }
}
