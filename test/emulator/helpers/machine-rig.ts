/**
 * Builds a Machine from a bhyve command line for device-model tests (no vCPU runs):
 * a multiboot kernel is assembled once from fixtures/emulator/multiboot/hello.S so the
 * machine has a boot method, guest memory is a plain ArrayBuffer, interrupts are recorded.
 * `cfg` reads PCI configuration space through mechanism #1, as a guest would.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandLine } from '../../../src/emulator/config/legacy-argv.js';
import { readPlatformConfig } from '../../../src/emulator/config/platform.js';
import { RecordingIrq } from '../../../src/emulator/irq/lines.js';
import { CollectingLogger } from '../../../src/emulator/log.js';
import { Machine } from '../../../src/emulator/machine.js';
import { REPO_ROOT } from './build-cli.js';

let kernel: string | undefined;

/** A multiboot ELF that machines can name with `-f multiboot,…`. */
export function multibootKernel(): string {
  if (kernel) return kernel;
  const dir = mkdtempSync(join(tmpdir(), 'machine-rig-'));
  execFileSync('as', ['--32', join(REPO_ROOT, 'fixtures/emulator/multiboot/hello.S'), '-o', join(dir, 'hello.o')]);
  execFileSync('ld', ['-m', 'elf_i386', '-Ttext=0x100000', '-e', '_start', join(dir, 'hello.o'), '-o', join(dir, 'hello.elf')]);
  kernel = join(dir, 'hello.elf');
  return kernel;
}

/** Builds the machine of `args` (a VM name is appended, with `-f multiboot`). */
export async function buildMachine(args: string[], vmName = 'vm0') {
  const out = parseCommandLine([...args, '-f', `multiboot,${multibootKernel()}`, vmName]);
  if (out.kind !== 'config') throw new Error(out.kind);
  const p = readPlatformConfig(out.tree);
  const irq = new RecordingIrq();
  const log = new CollectingLogger();
  const m = await Machine.build(out.tree, p, { memory: new ArrayBuffer(p.memSize), irq, ioapicPins: 32, hpetCapabilities: 0x8086a701 }, { log, fwcfgFiles: out.fwcfgFiles });
  const cfg = (bus: number, slot: number, func: number, reg: number) => {
    m.handleExit({ kind: 'inout', port: 0xcf8, size: 4, direction: 'out', value: (0x80000000 | (bus << 16) | (slot << 11) | (func << 8) | reg) >>> 0 });
    const r = m.handleExit({ kind: 'inout', port: 0xcfc, size: 4, direction: 'in', value: 0 });
    return r.action === 'continue' ? Number(r.value) : -1;
  };
  return { m, irq, log, cfg, tree: out.tree };
}

/** The ConfigError (or other error) a build throws. */
export async function buildError(args: string[], vmName = 'vm0'): Promise<Error> {
  try {
    const { m } = await buildMachine(args, vmName);
    await m.close();
  } catch (e) {
    return e as Error;
  }
  throw new Error('the machine was built');
}
