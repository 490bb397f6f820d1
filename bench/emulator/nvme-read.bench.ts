/**
 * Sequential read throughput of the NVMe model against the host reading the same file the
 * same way, side by side in one run (`npx vitest bench --run bench/emulator/nvme-read`):
 * 16 MiB in 64 KiB commands (PRP1 + a PRP list of 15 entries), 16 in flight on one I/O
 * queue pair. The NVMe path pays command fetch and parsing, PRP-list validation, views of
 * guest memory, completion posting and the doorbell round trips; no guest CPU is involved.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bench, describe } from 'vitest';
import { RawFileBackend } from '../../src/emulator/backends/block/raw-file.js';
import { MmioBus } from '../../src/emulator/bus/mmio-bus.js';
import { PortBus } from '../../src/emulator/bus/port-bus.js';
import { RecordingIrq } from '../../src/emulator/irq/lines.js';
import { CollectingLogger } from '../../src/emulator/log.js';
import { GuestMemory } from '../../src/emulator/memory/guest-memory.js';
import { NvmeController } from '../../src/emulator/nvme/device.js';
import * as R from '../../src/emulator/nvme/regs.js';
import { PciHost } from '../../src/emulator/pci/host.js';

const SIZE = 16 * 1024 * 1024;
const CHUNK = 64 * 1024;
const DEPTH = 16;
const dir = mkdtempSync(join(tmpdir(), 'nvmebench-'));
const file = join(dir, 'disk.img');
writeFileSync(file, Buffer.alloc(SIZE, 0x5a));

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

const ASQ = 0x10000;
const ACQ = 0x11000;
const SQ = 0x20000;
const CQ = 0x30000;
const LISTS = 0x40000;
const DATA = 0x100000;
const QSIZE = 64;

const setup = (async () => {
  const log = new CollectingLogger();
  const ports = new PortBus(log);
  const mmio = new MmioBus(log);
  const host = new PciHost({ ports, mmio, irq: new RecordingIrq(), log, highMem: 0 });
  const mem = new GuestMemory(new ArrayBuffer(8 * 1024 * 1024));
  const be = await RawFileBackend.open(file, { readOnly: true });
  const fn = host.createFunction(0, 4, 0, 'nvme');
  const nvme = new NvmeController(fn, mem, be, { maxQueues: 1, maxEntries: QSIZE, ioSlots: DEPTH, sectorSize: 512, serial: 'bench', eui64: 1n, dsm: 'disable', subnqn: 'bench' }, log);
  host.assignResources();
  const w = (off: number, v: number) => nvme.barWrite(0, off, 4, v);
  w(R.NVME_CR_AQA, (15 << 16) | 15);
  w(R.NVME_CR_ASQ_LOW, ASQ);
  w(R.NVME_CR_ACQ_LOW, ACQ);
  w(R.NVME_CR_CC, 1);
  // Admin: create the I/O CQ and SQ (pair 1).
  const admin = (i: number, opc: number, prp1: number, cdw10: number, cdw11: number) => {
    const at = ASQ + i * 64;
    mem.fill(at, 64);
    mem.write32(at, opc | ((i + 1) << 16));
    mem.write64(at + 24, BigInt(prp1));
    mem.write32(at + 40, cdw10);
    mem.write32(at + 44, cdw11);
  };
  admin(0, R.NVME_OPC_CREATE_IO_CQ, CQ, 1 | ((QSIZE - 1) << 16), 1);
  admin(1, R.NVME_OPC_CREATE_IO_SQ, SQ, 1 | ((QSIZE - 1) << 16), 1 | (1 << 16));
  w(R.NVME_DOORBELL_OFFSET, 2);
  // PRP lists, one page per slot: 15 entries after PRP1.
  for (let s = 0; s < DEPTH; s++) for (let e = 0; e < CHUNK / 4096 - 1; e++) mem.write64(LISTS + s * 4096 + 8 * e, BigInt(DATA + s * CHUNK + (e + 1) * 4096));
  return { nvme, mem, w, tail: 0, head: 0, phase: 1 };
})();

const nvmeRead = async () => {
  const st = await setup;
  const { nvme, mem, w } = st;
  let lba = 0;
  let inflight = 0;
  const issue = (slot: number) => {
    const at = SQ + st.tail * 64;
    mem.fill(at, 64);
    mem.write32(at, R.NVME_OPC_READ | (slot << 16));
    mem.write32(at + 4, 1);
    mem.write64(at + 24, BigInt(DATA + slot * CHUNK));
    mem.write64(at + 32, BigInt(LISTS + slot * 4096));
    mem.write32(at + 40, lba);
    mem.write32(at + 48, CHUNK / 512 - 1);
    lba += CHUNK / 512;
    st.tail = (st.tail + 1) % QSIZE;
    inflight++;
  };
  for (let s = 0; s < DEPTH; s++) issue(s);
  w(R.NVME_DOORBELL_OFFSET + 8, st.tail);
  while (inflight > 0) {
    await new Promise((r) => setImmediate(r));
    const free: number[] = [];
    for (;;) {
      const e = CQ + st.head * 16;
      const dw3 = mem.read32(e + 12);
      if (((dw3 >>> 16) & 1) !== st.phase) break;
      free.push(dw3 & 0xffff);
      inflight--;
      st.head = (st.head + 1) % QSIZE;
      if (st.head === 0) st.phase ^= 1;
    }
    if (free.length) {
      w(R.NVME_DOORBELL_OFFSET + 12, st.head);
      let kicked = false;
      for (const s of free) {
        if (lba * 512 >= SIZE) break;
        issue(s);
        kicked = true;
      }
      if (kicked) w(R.NVME_DOORBELL_OFFSET + 8, st.tail);
    }
  }
  await nvme.idle();
};

describe(`sequential read of ${SIZE >> 20} MiB, ${CHUNK >> 10} KiB x ${DEPTH}`, () => {
  bench('host FileHandle.read', hostRead, { iterations: 20, warmupIterations: 3 });
  bench('nvme device', nvmeRead, { iterations: 20, warmupIterations: 3 });
});
