/**
 * Test rig for the e1000: a PCI world with the device on a recording network backend
 * (unit isolation: frames sent are collected, frames "from the wire" are injected), and a
 * small driver that programs registers, bit-bangs the EEPROM and lays out rings exactly
 * as a guest driver does.
 */
import type { NetBackend } from '../../../src/emulator/backends/net/backend.js';
import { E1000Device } from '../../../src/emulator/e1000/device.js';
import * as R from '../../../src/emulator/e1000/regs.js';
import { CollectingLogger } from '../../../src/emulator/log.js';
import { pciWorld } from '../pci/helpers.js';
import { makeMemory } from '../virtio/driver.js';

export class RecordingNet implements NetBackend {
  readonly description = 'recording';
  readonly sent: Uint8Array[] = [];
  rx: ((f: Uint8Array) => void) | undefined;
  paused = false;
  send(frame: Uint8Array): void {
    this.sent.push(Uint8Array.from(frame));
  }
  setReceiver(rx: ((f: Uint8Array) => void) | undefined): void {
    this.rx = rx;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  async close(): Promise<void> {}
  inject(f: Uint8Array): void {
    this.rx?.(f);
  }
}

export const MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
export const TX_RING = 0x10000;
export const RX_RING = 0x20000;
export const TX_BUF = 0x100000;
export const RX_BUF = 0x200000;

export function rig() {
  const w = pciWorld();
  const mem = makeMemory(8 << 20);
  const log = new CollectingLogger();
  const net = new RecordingNet();
  const fn = w.host.createFunction(0, 6, 0, 'e1000');
  const dev = new E1000Device(fn, mem, net, MAC, log);
  w.host.assignResources();
  const bar = fn.bars[0]!.addr;
  const reg = (off: number) => w.mmio.read(bar + off, 4) >>> 0;
  const set = (off: number, v: number) => w.mmio.write(bar + off, 4, v >>> 0);

  /** Reads one EEPROM word through EECD, as e1000_read_eeprom_microwire does. */
  const eepromRead = (addr: number): number => {
    const clock = (v: number) => {
      set(R.E1000_EECD, v | R.E1000_EECD_SK);
      set(R.E1000_EECD, v);
    };
    set(R.E1000_EECD, R.E1000_EECD_REQ);
    const base = R.E1000_EECD_REQ | R.E1000_EECD_CS;
    set(R.E1000_EECD, base);
    const bits = (0x6 << 6) | addr; // READ opcode + 6 address bits
    for (let i = 8; i >= 0; i--) clock(base | (bits & (1 << i) ? R.E1000_EECD_DI : 0));
    let word = 0;
    for (let i = 0; i < 16; i++) {
      clock(base);
      word = (word << 1) | (reg(R.E1000_EECD) & R.E1000_EECD_DO ? 1 : 0);
    }
    set(R.E1000_EECD, 0);
    return word;
  };

  const mdicRead = (phyReg: number): number => {
    set(R.E1000_MDIC, R.E1000_MDIC_OP_READ | (phyReg << R.E1000_MDIC_REG_SHIFT) | (1 << R.E1000_MDIC_PHY_SHIFT));
    const v = reg(R.E1000_MDIC);
    if (!(v & R.E1000_MDIC_READY)) throw new Error('MDIC not ready');
    return v & 0xffff;
  };

  const txDesc = (i: number, addr: number, lower: number, upper = 0) => {
    const at = TX_RING + 16 * i;
    mem.write64(at, BigInt(addr));
    mem.write32(at + 8, lower >>> 0);
    mem.write32(at + 12, upper >>> 0);
  };
  const setupTx = (descs = 64) => {
    set(R.E1000_TDBAL, TX_RING);
    set(R.E1000_TDBAH, 0);
    set(R.E1000_TDLEN, descs * 16);
    set(R.E1000_TDH, 0);
    set(R.E1000_TDT, 0);
    set(R.E1000_TCTL, R.E1000_TCTL_EN);
  };
  const setupRx = (descs = 32, rctl = R.E1000_RCTL_EN | R.E1000_RCTL_BAM | R.E1000_RCTL_SECRC, bufsz = 2048) => {
    for (let i = 0; i < descs; i++) {
      mem.write64(RX_RING + 16 * i, BigInt(RX_BUF + i * bufsz));
      mem.fill(RX_RING + 16 * i + 8, 8);
    }
    set(R.E1000_RDBAL, RX_RING);
    set(R.E1000_RDBAH, 0);
    set(R.E1000_RDLEN, descs * 16);
    set(R.E1000_RDH, 0);
    set(R.E1000_RDT, descs - 1);
    set(R.E1000_RCTL, rctl);
  };
  const rxDesc = (i: number) => {
    const at = RX_RING + 16 * i;
    return { addr: Number(mem.read64(at)), len: mem.read16(at + 8), status: mem.read8(at + 12), errors: mem.read8(at + 13) };
  };
  return { w, mem, log, net, fn, dev, reg, set, eepromRead, mdicRead, txDesc, setupTx, setupRx, rxDesc };
}

/** An Ethernet frame: dst, src, ethertype, payload. */
export function frame(dst: Uint8Array | number[], src: Uint8Array | number[], type: number, payload: Uint8Array | number[]): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}
