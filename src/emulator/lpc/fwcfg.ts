/**
 * QEMU's fw_cfg firmware interface, as bhyve provides it with `lpc.fwcfg=qemu`
 * (qemu_fwcfg.c; bhyve-userland.md §5.8): selector port 0x510 (16-bit read/write),
 * data port 0x511 (8-bit reads, auto-increment; past the end or for an absent item reads
 * 0; writes refused). No DMA interface: the ID item reports only the traditional
 * interface (bit 0).
 *
 * Items: 0x0000 signature "QEMU", 0x0001 ID, 0x0003 RAM size (64-bit LE, bytes of guest RAM
 * below and above 4 GiB, as QEMU's FW_CFG_RAM_SIZE), 0x0005 number of CPUs, 0x000F max CPUs
 * (both 16-bit LE), 0x0019 the file directory (big-endian count, then 64-byte entries
 * {be32 size, be16 select, be16 reserved, name[56]}) kept sorted by name, files from
 * selector 0x0020 in the order they were added. Selector bit 15 picks the
 * architecture-specific item set (empty here), bit 14 the (unsupported) write flag.
 * Absent items read 0: kvm-unit-tests reads key 0x11 as a "max RAM" limit where 0 means
 * none (QEMU's 0x11 is FW_CFG_KERNEL_DATA, which we do not serve).
 */
import type { BusDevice } from '../bus/range.js';

export const FWCFG_SELECTOR_PORT = 0x510;
export const FWCFG_DATA_PORT = 0x511;
export const FW_CFG_SIGNATURE = 0x0000;
export const FW_CFG_ID = 0x0001;
export const FW_CFG_RAM_SIZE = 0x0003;
export const FW_CFG_NB_CPUS = 0x0005;
export const FW_CFG_MAX_CPUS = 0x000f;
export const FW_CFG_FILE_DIR = 0x0019;
export const FW_CFG_FILE_FIRST = 0x0020;
export const FW_CFG_MAX_NAME = 56;
const INDEX_MASK = 0x3fff;
const ARCH_BIT = 0x8000;

export class FwCfgError extends Error {}

export class QemuFwCfg {
  private readonly items = new Map<number, Uint8Array>();
  private readonly files: Array<{ name: string; select: number; size: number }> = [];
  private selector = 0;
  private offset = 0;

  /** `ramSize`: bytes of guest RAM (low + high), served as FW_CFG_RAM_SIZE. */
  constructor(ncpus: number, ramSize = 0) {
    this.items.set(FW_CFG_SIGNATURE, new TextEncoder().encode('QEMU'));
    this.items.set(FW_CFG_ID, Uint8Array.of(1, 0, 0, 0));
    const ram = new Uint8Array(8);
    new DataView(ram.buffer).setBigUint64(0, BigInt(ramSize), true);
    this.items.set(FW_CFG_RAM_SIZE, ram);
    this.items.set(FW_CFG_NB_CPUS, Uint8Array.of(ncpus & 0xff, ncpus >> 8));
    this.items.set(FW_CFG_MAX_CPUS, Uint8Array.of(ncpus & 0xff, ncpus >> 8));
    this.rebuildDirectory();
  }

  /** qemu_fwcfg_add_file; throws FwCfgError on a long or duplicate name. */
  addFile(name: string, data: Uint8Array): number {
    if (Buffer.byteLength(name) >= FW_CFG_MAX_NAME) throw new FwCfgError(`fw_cfg file name too long: "${name}"`);
    if (this.files.some((f) => f.name === name)) throw new FwCfgError(`fw_cfg file "${name}" already exists`);
    const select = FW_CFG_FILE_FIRST + this.files.length;
    if (select > INDEX_MASK) throw new FwCfgError('too many fw_cfg files');
    this.items.set(select, data);
    this.files.push({ name, select, size: data.length });
    this.rebuildDirectory();
    return select;
  }

  /** The item a selector names (for tests and debugging). */
  item(selector: number): Uint8Array | undefined {
    return this.items.get(selector);
  }

  private rebuildDirectory(): void {
    const sorted = [...this.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const dir = new Uint8Array(4 + 64 * sorted.length);
    const dv = new DataView(dir.buffer);
    dv.setUint32(0, sorted.length, false);
    sorted.forEach((f, i) => {
      const o = 4 + 64 * i;
      dv.setUint32(o, f.size, false);
      dv.setUint16(o + 4, f.select, false);
      dir.set(Buffer.from(f.name, 'utf8'), o + 8);
    });
    this.items.set(FW_CFG_FILE_DIR, dir);
  }

  readonly ports: BusDevice = {
    name: 'qemu-fwcfg',
    accepts: (offset, size) => (offset === 0 ? size === 2 : size === 1),
    read: (offset) => {
      if (offset === 0) return this.selector;
      const item = this.selector & ARCH_BIT ? undefined : this.items.get(this.selector & INDEX_MASK);
      if (!item || this.offset >= item.length) return 0;
      return item[this.offset++]!;
    },
    write: (offset, _size, value) => {
      if (offset !== 0) return; // the data port is read-only
      this.selector = value & 0xffff;
      this.offset = 0;
    },
  };
}

/** etc/e820 contents: packed {u64 base, u64 length, u32 type} entries. */
export function encodeE820(entries: ReadonlyArray<{ base: number; length: number; type: number }>): Uint8Array {
  const out = new Uint8Array(20 * entries.length);
  const dv = new DataView(out.buffer);
  entries.forEach((e, i) => {
    dv.setBigUint64(20 * i, BigInt(e.base), true);
    dv.setBigUint64(20 * i + 8, BigInt(e.length), true);
    dv.setUint32(20 * i + 16, e.type, true);
  });
  return out;
}
