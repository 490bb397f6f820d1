import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareBootrom, CFI_PROGRAM, CFI_READ_STATUS, CFI_READ_ARRAY } from '../../../src/emulator/loaders/bootrom.js';
import { resetState } from '../../../src/emulator/loaders/cpu-state.js';
import { CollectingLogger } from '../../../src/emulator/log.js';

function files(romSize: number, varsSize?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'rom-'));
  const rom = join(dir, 'CODE.fd');
  writeFileSync(rom, Buffer.alloc(romSize, 0x90));
  let vars: string | undefined;
  if (varsSize !== undefined) {
    vars = join(dir, 'VARS.fd');
    writeFileSync(vars, Buffer.alloc(varsSize, 0xff));
  }
  return { rom, vars };
}

describe('UEFI boot ROM', () => {
  it('maps the ROM at the top of 4 GiB and the variable store just below it', async () => {
    const f = files(2 * 1024 * 1024, 128 * 1024);
    const plan = await prepareBootrom(f.rom, f.vars, new CollectingLogger());
    expect(plan.romGpa).toBe(0x1_0000_0000 - 2 * 1024 * 1024);
    expect(plan.rom.length).toBe(2 * 1024 * 1024);
    expect(plan.vars!.gpa).toBe(plan.romGpa - 128 * 1024);
    expect(resetState().cs.base + resetState().rip).toBe(0xfffffff0);
    await plan.vars!.flash.close();
  });

  it('speaks the CFI commands EDK II uses and writes variables through to the file', async () => {
    const f = files(4096, 8192);
    const plan = await prepareBootrom(f.rom, f.vars, new CollectingLogger());
    const flash = plan.vars!.flash;
    expect(flash.read(0, 4)).toBe(0xffffffff);
    flash.write(0x10, 1, CFI_PROGRAM);
    flash.write(0x10, 4, 0x12345678);
    flash.write(0x10, 1, CFI_READ_STATUS);
    expect(flash.read(0x10, 4)).toBe(0);
    flash.write(0x10, 1, CFI_READ_ARRAY);
    expect(flash.read(0x10, 4)).toBe(0x12345678);
    flash.write(0x20, 2, 0xbeef); // no program command: just a command latch
    expect(flash.read(0x20, 2)).toBe(0xffff);
    await flash.close();
    expect(readFileSync(f.vars!).readUInt32LE(0x10)).toBe(0x12345678);
  });

  it('refuses ROMs that are empty, not 4 KiB multiples or larger than 16 MiB', async () => {
    const log = new CollectingLogger();
    await expect(prepareBootrom(files(0).rom, undefined, log)).rejects.toThrow(/not a non-zero multiple of 4 KiB/);
    await expect(prepareBootrom(files(5000).rom, undefined, log)).rejects.toThrow(/not a non-zero multiple/);
    await expect(prepareBootrom(files(17 * 1024 * 1024).rom, undefined, log)).rejects.toThrow(/exceeds 16 MiB/);
    const f = files(16 * 1024 * 1024, 4096);
    await expect(prepareBootrom(f.rom, f.vars, log)).rejects.toThrow(/together exceed 16 MiB/);
    await expect(prepareBootrom('/nonexistent.fd', undefined, log)).rejects.toThrow(/cannot read the boot ROM/);
  });
});
