/**
 * The multiport virtio-console device (bhyve pci_virtio_console.c; bhyve-userland.md
 * §6.5): up to 16 named ports, each bridged to a byte-stream backend (bhyve: a UNIX
 * socket created at `port.N.path`, one client at a time). 34 queues of 64 entries, features
 * SIZE|MULTIPORT|EMERG_WRITE, config {cols 80, rows 25, max_nr_ports 16, emerg_wr}.
 *
 * Control protocol (queues 2/3): on DEVICE_READY the device announces DEVICE_ADD for each
 * configured port; on PORT_READY it sends PORT_NAME and, when a host client is connected,
 * PORT_OPEN(1); host connects/disconnects send PORT_OPEN(1/0). Host bytes reach a port's
 * RX queue only while the guest has the port open (otherwise they wait in the backend,
 * back-pressured); guest TX bytes go straight to the backend (dropped without a client).
 * Without MULTIPORT only port 0 exists, always open. Emergency writes to `emerg_wr` go to
 * port 0. Malformed control messages are ignored; a corrupt ring puts the device in
 * NEEDS_RESET.
 */
import type { SerialBackend } from '../../lpc/uart/backend.js';
import type { VirtioActivation, VirtioDevice } from '../device.js';
import { readLE } from '../device.js';
import { gatherReadable, scatterWritable, VirtqueueError } from '../queue.js';
import { VIRTIO_ID_CONSOLE, bit } from '../regs.js';
import {
  CONTROL_RXQ,
  CONTROL_TXQ,
  VIRTIO_CONSOLE_F_EMERG_WRITE,
  VIRTIO_CONSOLE_F_MULTIPORT,
  VIRTIO_CONSOLE_F_SIZE,
  VTCON_DEVICE_ADD,
  VTCON_DEVICE_READY,
  VTCON_MAXPORTS,
  VTCON_MAXQ,
  VTCON_PORT_NAME,
  VTCON_PORT_OPEN,
  VTCON_PORT_READY,
  VTCON_RINGSZ,
  portQueues,
} from './index.js';

const PCIC_SIMPLECOMM = 0x07;
const CONFIG_SIZE = 12;
/** Control messages waiting for control RX buffers (a guest not draining them cannot grow this). */
const MAX_PENDING_CONTROL = 256;

export interface ConsolePort {
  name: string;
  backend: SerialBackend & { connected?: boolean; onConnection?: ((c: boolean) => void) | undefined };
}

interface PortState {
  id: number;
  port: ConsolePort;
  guestOpen: boolean;
}

export class VirtioConsole implements VirtioDevice {
  readonly deviceType = VIRTIO_ID_CONSOLE;
  readonly pciClass = PCIC_SIMPLECOMM;
  readonly queueSizes = Array.from({ length: VTCON_MAXQ }, () => VTCON_RINGSZ);
  readonly configSize = CONFIG_SIZE;
  private readonly config = new Uint8Array(CONFIG_SIZE);
  private readonly ports: PortState[];
  private state: { kind: 'inactive' } | { kind: 'active'; ctx: VirtioActivation; multiport: boolean } = { kind: 'inactive' };
  private readonly pendingControl: Uint8Array[] = [];

  constructor(ports: ConsolePort[]) {
    if (ports.length > VTCON_MAXPORTS) throw new RangeError('vtcon: too many ports');
    this.ports = ports.map((port, id) => ({ id, port, guestOpen: false }));
    const dv = new DataView(this.config.buffer);
    dv.setUint16(0, 80, true);
    dv.setUint16(2, 25, true);
    dv.setUint32(4, VTCON_MAXPORTS, true);
    for (const p of this.ports) {
      p.port.backend.setInputSink((chunk) => this.hostInput(p, chunk));
      p.port.backend.onConnection = (connected) => this.hostConnection(p, connected);
    }
  }

  features(): bigint {
    return bit(VIRTIO_CONSOLE_F_SIZE) | bit(VIRTIO_CONSOLE_F_MULTIPORT) | bit(VIRTIO_CONSOLE_F_EMERG_WRITE);
  }

  readConfig(offset: number, size: number): number {
    return readLE(this.config, offset, size);
  }

  writeConfig(offset: number, size: number, value: number): void {
    if (offset === 8 && size === 4 && this.ports[0]) this.ports[0].port.backend.write(Uint8Array.of(value & 0xff));
  }

  activate(ctx: VirtioActivation): void {
    const multiport = (ctx.features & bit(VIRTIO_CONSOLE_F_MULTIPORT)) !== 0n;
    this.state = { kind: 'active', ctx, multiport };
    if (!multiport && this.ports[0]) this.ports[0].guestOpen = true;
    for (const p of this.ports) p.port.backend.resume();
  }

  reset(): void {
    this.state = { kind: 'inactive' };
    this.pendingControl.length = 0;
    for (const p of this.ports) p.guestOpen = false;
  }

  private guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      if (e instanceof VirtqueueError && this.state.kind === 'active') this.state.ctx.fail(e.message);
      else throw e;
    }
  }

  queueNotify(index: number): void {
    if (this.state.kind !== 'active') return;
    if (index === CONTROL_TXQ) this.controlTx();
    else if (index === CONTROL_RXQ) this.flushControl();
    else {
      const p = this.ports.find((x) => portQueues(x.id).tx === index);
      if (p) this.portTx(p);
      const r = this.ports.find((x) => portQueues(x.id).rx === index);
      if (r) r.port.backend.resume();
    }
  }

  // ---- control queue ----

  private sendControl(id: number, event: number, value: number, payload?: Uint8Array): void {
    if (this.state.kind !== 'active' || !this.state.multiport) return;
    if (this.pendingControl.length >= MAX_PENDING_CONTROL) return;
    const m = new Uint8Array(8 + (payload?.length ?? 0));
    const dv = new DataView(m.buffer);
    dv.setUint32(0, id, true);
    dv.setUint16(4, event, true);
    dv.setUint16(6, value, true);
    if (payload) m.set(payload, 8);
    this.pendingControl.push(m);
    this.flushControl();
  }

  private flushControl(): void {
    if (this.state.kind !== 'active') return;
    const { ctx } = this.state;
    const q = ctx.queues[CONTROL_RXQ]!;
    if (!q.active) return;
    this.guard(() => {
      let pushed = false;
      while (this.pendingControl.length > 0 && q.hasAvailable()) {
        const chain = q.pop()!;
        const msg = this.pendingControl.shift()!;
        const n = scatterWritable(ctx.memory, chain, msg);
        q.push(chain.head, n);
        pushed = true;
      }
      if (pushed) ctx.notifyQueue(q);
    });
  }

  private controlTx(): void {
    if (this.state.kind !== 'active') return;
    const { ctx } = this.state;
    const q = ctx.queues[CONTROL_TXQ]!;
    if (!q.active) return;
    const msgs: Array<{ id: number; event: number; value: number }> = [];
    this.guard(() => {
      for (let chain = q.pop(); chain; chain = q.pop()) {
        if (chain.readableLen >= 8) {
          const dv = new DataView(gatherReadable(ctx.memory, chain, 0, 8).buffer);
          msgs.push({ id: dv.getUint32(0, true), event: dv.getUint16(4, true), value: dv.getUint16(6, true) });
        }
        q.push(chain.head, 0);
      }
      ctx.notifyQueue(q);
    });
    for (const m of msgs) this.controlMessage(m);
  }

  private controlMessage(m: { id: number; event: number; value: number }): void {
    switch (m.event) {
      case VTCON_DEVICE_READY:
        if (m.value !== 1) return;
        for (const p of this.ports) this.sendControl(p.id, VTCON_DEVICE_ADD, 1);
        return;
      case VTCON_PORT_READY: {
        const p = this.ports[m.id];
        if (!p || m.value !== 1) return;
        this.sendControl(p.id, VTCON_PORT_NAME, 1, new Uint8Array(Buffer.from(p.port.name, 'utf8')));
        if (p.port.backend.connected ?? true) this.sendControl(p.id, VTCON_PORT_OPEN, 1);
        return;
      }
      case VTCON_PORT_OPEN: {
        const p = this.ports[m.id];
        if (!p) return;
        p.guestOpen = m.value === 1;
        if (p.guestOpen) p.port.backend.resume();
        return;
      }
      default:
        return;
    }
  }

  private hostConnection(p: PortState, connected: boolean): void {
    this.sendControl(p.id, VTCON_PORT_OPEN, connected ? 1 : 0);
  }

  // ---- data ----

  private portTx(p: PortState): void {
    if (this.state.kind !== 'active') return;
    const { ctx } = this.state;
    const q = ctx.queues[portQueues(p.id).tx]!;
    if (!q.active) return;
    let pushed = false;
    for (let chain = q.pop(); chain; chain = q.pop()) {
      if (chain.readableLen > 0) p.port.backend.write(gatherReadable(ctx.memory, chain));
      q.push(chain.head, 0);
      pushed = true;
    }
    if (pushed) ctx.notifyQueue(q);
  }

  /** Bytes from the host side of a port: as many as RX buffers can take. */
  private hostInput(p: PortState, chunk: Uint8Array): number {
    if (this.state.kind !== 'active' || !p.guestOpen) return 0;
    const { ctx } = this.state;
    const q = ctx.queues[portQueues(p.id).rx]!;
    if (!q.active) return 0;
    let taken = 0;
    this.guard(() => {
      let pushed = false;
      while (taken < chunk.length && q.hasAvailable()) {
        const chain = q.pop()!;
        const n = scatterWritable(ctx.memory, chain, chunk.subarray(taken));
        q.push(chain.head, n);
        taken += n;
        pushed = true;
        if (n === 0) break;
      }
      if (pushed) ctx.notifyQueue(q);
    });
    return taken;
  }
}
