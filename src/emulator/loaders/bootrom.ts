/**
 * The UEFI boot ROM mapping (`bootrom`/`bootvars`, or `-l bootrom,ROM[,VARS]`; bhyve
 * bootrom.c; bhyve-userland.md §5.8): the ROM image (a non-zero multiple of 4 KiB, at most
 * 16 MiB) ends at 4 GiB; the variable store (≥ 4 KiB, ROM + vars ≤ 16 MiB) sits right
 * below it as an MMIO range speaking the tiny CFI flash dialect EDK II's bhyve port uses:
 * command 0x10 makes the next write store data, 0x50 clears status, 0x70 makes the next
 * read return status (0), 0xFF returns to array reads; other writes just latch the command.
 * Variable writes go straight to the host file (write-through, asynchronous).
 *
 * The ROM itself is not guest RAM: machine.ts asks the vmm to map `plan.rom` read-only
 * at `plan.romGpa`. The BSP starts from the reset state (cpu-state.ts resetState).
 */
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import type { BusDevice } from '../bus/range.js';
import type { Logger } from '../log.js';
import { LoaderError } from './errors.js';

export const BOOTROM_SIZE = 16 * 1024 * 1024;
export const BOOTROM_TOP = 0x1_0000_0000;
const PAGE = 4096;

export interface BootromPlan {
  romGpa: number;
  rom: Uint8Array;
  vars?: { gpa: number; flash: VarsFlash };
}

export const CFI_PROGRAM = 0x10;
export const CFI_CLEAR_STATUS = 0x50;
export const CFI_READ_STATUS = 0x70;
export const CFI_READ_ARRAY = 0xff;

/** The variable store as a CFI-flash MMIO device backed by its file. */
export class VarsFlash implements BusDevice {
  readonly name = 'bootrom-vars';
  private command = CFI_READ_ARRAY;
  private pendingWrites: Promise<void> = Promise.resolve();

  constructor(
    readonly data: Uint8Array,
    private readonly fh: FileHandle,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.data.length;
  }

  read(offset: number, size: number): number {
    if (this.command === CFI_READ_STATUS) return 0;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.data[offset + i]!;
    return v >>> 0;
  }

  write(offset: number, size: number, value: number): void {
    if (this.command !== CFI_PROGRAM) {
      this.command = value & 0xff;
      return;
    }
    for (let i = 0; i < size; i++) this.data[offset + i] = (value >>> (8 * i)) & 0xff;
    const chunk = this.data.slice(offset, offset + size);
    this.pendingWrites = this.pendingWrites
      .then(() => this.fh.write(chunk, 0, size, offset))
      .then(
        () => undefined,
        (e: Error) => this.log.warn(`bootvars: ${e.message}`),
      );
    this.command = CFI_READ_ARRAY;
  }

  async close(): Promise<void> {
    await this.pendingWrites;
    await this.fh.sync();
    await this.fh.close();
  }
}

export async function prepareBootrom(romPath: string, varsPath: string | undefined, log: Logger): Promise<BootromPlan> {
  let rom: Uint8Array;
  try {
    rom = new Uint8Array(await readFile(romPath));
  } catch (e) {
    throw new LoaderError('io', romPath, `cannot read the boot ROM: ${(e as Error).message}`);
  }
  if (rom.length === 0 || rom.length % PAGE !== 0) throw new LoaderError('format', romPath, `ROM size ${rom.length} is not a non-zero multiple of 4 KiB`);
  if (rom.length > BOOTROM_SIZE) throw new LoaderError('format', romPath, `ROM size ${rom.length} exceeds 16 MiB`);
  const plan: BootromPlan = { romGpa: BOOTROM_TOP - rom.length, rom };
  if (varsPath !== undefined) {
    let size: number;
    try {
      size = (await stat(varsPath)).size;
    } catch (e) {
      throw new LoaderError('io', varsPath, `cannot open the variable store: ${(e as Error).message}`);
    }
    if (size < PAGE || size % PAGE !== 0) throw new LoaderError('format', varsPath, `variable store size ${size} is not a multiple of 4 KiB (at least 4 KiB)`);
    if (size + rom.length > BOOTROM_SIZE) throw new LoaderError('format', varsPath, 'ROM and variable store together exceed 16 MiB');
    const fh = await open(varsPath, 'r+');
    const data = new Uint8Array(size);
    await fh.read(data, 0, size, 0);
    plan.vars = { gpa: plan.romGpa - size, flash: new VarsFlash(data, fh, log) };
  }
  return plan;
}
