/**
 * Sequential read throughput of the block device models against the host reading the
 * same file the same way, measured side by side in one run (`npx vitest bench --run
 * bench/emulator`): 16 MiB in 64 KiB requests, 16 in flight.
 *
 * - host: FileHandle.read into one buffer (the floor any emulated path pays on top of);
 * - virtio-blk: a driver posts requests on the legacy ring and kicks; completions come
 *   back through the used ring (parsing, guest-memory views, status write, interrupt);
 * - ahci: READ DMA EXT commands in 16 slots through the port registers.
 * No guest CPU is involved: this is the device-side cost per byte. The guest-seen
 * figure needs the vmm (see the README of the emulator bench when it lands).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bench, describe } from 'vitest';
import { RawFileBackend } from '../../src/emulator/backends/block/raw-file.js';
import { AhciController } from '../../src/emulator/ahci/device.js';
import * as H from '../../src/emulator/ahci/index.js';
import { MmioBus } from '../../src/emulator/bus/mmio-bus.js';
import { PortBus } from '../../src/emulator/bus/port-bus.js';
import { RecordingIrq } from '../../src/emulator/irq/lines.js';
import { CollectingLogger } from '../../src/emulator/log.js';
import { GuestMemory } from '../../src/emulator/memory/guest-memory.js';
import { PciHost } from '../../src/emulator/pci/host.js';
import { VirtioBlock } from '../../src/emulator/virtio/block/device.js';
import { VirtioPciTransport } from '../../src/emulator/virtio/pci.js';
import * as V from '../../src/emulator/virtio/regs.js';

const SIZE = 16 * 1024 * 1024;
const CHUNK = 64 * 1024;
const DEPTH = 16;
const dir = mkdtempSync(join(tmpdir(), 'blkbench-'));
const file = join(dir, 'disk.img');
writeFileSync(file, Buffer.alloc(SIZE, 0x5a));

function world() {
  const log = new CollectingLogger();
  const ports = new PortBus(log);
  const mmio = new MmioBus(log);
  const host = new PciHost({ ports, mmio, irq: new RecordingIrq(), log, highMem: 0 });
  return { log, ports, mmio, host, mem: new GuestMemory(new ArrayBuffer(8 * 1024 * 1024)) };
}

const hostRead = async () => {
  const fh = await open(file, 'r');
  const buf = Buffer.alloc(CHUNK * DEPTH);
  let off = 0;
  while (off < SIZE) {
    const batch = [];
    for (let i = 0; i < DEPTH && off < SIZE; i++, off += CHUNK) batch.push(fh.read(buf, i * CHUNK, CHUNK, off));
    await Promise.all(batch);
  }
  await fh.close();
};

const virtioSetup = (async () => {
  const w = world();
  const be = await RawFileBackend.open(file, { readOnly: true });
  const dev = new VirtioBlock(be, w.log, 'bench');
  const fn = w.host.createFunction(0, 4, 0, 'virtio-blk');
  new VirtioPciTransport(fn, dev, { mode: 'legacy', msix: false, memory: w.mem, log: w.log });
  w.host.assignResources();
  fn.barWrite(0, V.VIRTIO_PCI_STATUS, 1, 3);
  fn.barWrite(0, V.VIRTIO_PCI_QUEUE_SEL, 2, 0);
  fn.barWrite(0, V.VIRTIO_PCI_QUEUE_PFN, 4, 0x10000 / 4096);
  fn.barWrite(0, V.VIRTIO_PCI_STATUS, 1, 7);
  return { w, dev, fn };
})();

const virtioRead = async () => {
  const { w, dev, fn } = await virtioSetup;
  const m = w.mem;
  const size = 128;
  const desc = 0x10000;
  const avail = desc + 16 * size;
  const used = Math.ceil((avail + 6 + 2 * size) / 4096) * 4096;
  let availIdx = m.read16(avail + 2);
  let usedSeen = m.read16(used + 2);
  let sector = 0;
  let inflight = 0;
  const post = (slot: number) => {
    const hdr = 0x40000 + slot * 16;
    m.write32(hdr, 0);
    m.write64(hdr + 8, BigInt(sector));
    sector += CHUNK / 512;
    const d = slot * 3;
    const wd = (i: number, addr: number, len: number, flags: number, next: number) => {
      m.write64(desc + 16 * i, BigInt(addr));
      m.write32(desc + 16 * i + 8, len);
      m.write16(desc + 16 * i + 12, flags);
      m.write16(desc + 16 * i + 14, next);
    };
    wd(d, hdr, 16, V.VRING_DESC_F_NEXT, d + 1);
    wd(d + 1, 0x100000 + slot * CHUNK, CHUNK, V.VRING_DESC_F_NEXT | V.VRING_DESC_F_WRITE, d + 2);
    wd(d + 2, 0x50000 + slot, 1, V.VRING_DESC_F_WRITE, 0);
    m.write16(avail + 4 + 2 * (availIdx % size), d);
    availIdx = (availIdx + 1) & 0xffff;
    m.write16(avail + 2, availIdx);
    inflight++;
  };
  const slots: number[] = [];
  for (let s = 0; s < DEPTH && sector * 512 < SIZE; s++) post(s);
  fn.barWrite(0, V.VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
  while (inflight > 0) {
    await new Promise((r) => setImmediate(r));
    const idx = m.read16(used + 2);
    while (usedSeen !== idx) {
      const id = m.read32(used + 4 + 8 * (usedSeen % size));
      usedSeen = (usedSeen + 1) & 0xffff;
      inflight--;
      slots.push(id / 3);
    }
    let kicked = false;
    while (slots.length && sector * 512 < SIZE) {
      post(slots.pop()!);
      kicked = true;
    }
    slots.length = 0;
    if (kicked) fn.barWrite(0, V.VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
  }
  await dev.idle();
};

const ahciSetup = (async () => {
  const w = world();
  const be = await RawFileBackend.open(file, { readOnly: true });
  const fn = w.host.createFunction(0, 2, 0, 'ahci');
  const ahci = new AhciController(fn, w.mem, [{ port: 0, type: 'hd', backend: be, path: file }], w.log);
  w.host.assignResources();
  const P = (off: number) => 0x100 + off;
  ahci.barWrite(5, P(H.AHCI_P_CLB), 4, 0x10000);
  ahci.barWrite(5, P(H.AHCI_P_FB), 4, 0x11000);
  ahci.barWrite(5, P(H.AHCI_P_CMD), 4, H.AHCI_P_CMD_FRE | H.AHCI_P_CMD_ST);
  return { w, ahci, P };
})();

const ahciRead = async () => {
  const { w, ahci, P } = await ahciSetup;
  const m = w.mem;
  let lba = 0;
  const issue = (slot: number) => {
    const ct = 0x20000 + slot * 0x100;
    const hdr = 0x10000 + slot * 32;
    m.write32(hdr, 5 | (1 << 16));
    m.write64(hdr + 8, BigInt(ct));
    const count = CHUNK / 512;
    m.writeBytes(ct, Uint8Array.of(0x27, 0x80, H.ATA_READ_DMA48, 0, lba & 0xff, (lba >> 8) & 0xff, (lba >> 16) & 0xff, 0x40, 0, 0, 0, 0, count & 0xff, count >> 8));
    m.write64(ct + 0x80, BigInt(0x100000 + slot * CHUNK));
    m.write32(ct + 0x8c, CHUNK - 1);
    lba += count;
    ahci.barWrite(5, P(H.AHCI_P_CI), 4, 1 << slot);
  };
  for (let s = 0; s < DEPTH && lba * 512 < SIZE; s++) issue(s);
  for (;;) {
    await new Promise((r) => setImmediate(r));
    const ci = ahci.barRead(5, P(H.AHCI_P_CI), 4);
    for (let s = 0; s < DEPTH; s++) if (!(ci & (1 << s)) && lba * 512 < SIZE) issue(s);
    if (lba * 512 >= SIZE && ahci.barRead(5, P(H.AHCI_P_CI), 4) === 0) break;
  }
  await ahci.idle();
};

describe(`sequential read of ${SIZE >> 20} MiB, ${CHUNK >> 10} KiB x ${DEPTH}`, () => {
  bench('host FileHandle.read', hostRead, { iterations: 20, warmupIterations: 3 });
  bench('virtio-blk device', virtioRead, { iterations: 20, warmupIterations: 3 });
  bench('ahci device', ahciRead, { iterations: 20, warmupIterations: 3 });
});
