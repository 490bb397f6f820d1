/**
 * Chooses and runs the boot method from the configuration (docs/tsbhyve-config.md):
 *
 * - `bootrom` [+ `bootvars`]: UEFI ROM at the top of 4 GiB, BSP at the reset vector;
 * - `boot.kernel` with `boot.protocol` = `linux` | `multiboot` | `auto` (default: a
 *   bzImage "HdrS" header means linux, a multiboot header means multiboot), plus
 *   `boot.initrd`, `boot.cmdline`, `boot.module.N.path` / `.cmdline`;
 * - neither: refused as bhyve refuses a VM without a boot ROM that no loader prepared
 *   (exit 4), naming the options that would work.
 * Both a ROM and a kernel at once is a configuration error.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, EXIT_ERROR } from '../config/errors.js';
import type { ConfigTree } from '../config/tree.js';
import type { E820Entry } from '../firmware/e820.js';
import type { Logger } from '../log.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { prepareBootrom, type BootromPlan } from './bootrom.js';
import { resetState, type InitialCpuState } from './cpu-state.js';
import { LoaderError } from './errors.js';
import { loadLinux } from './linux.js';
import { startMark } from '../start-trace.js';
import { loadMultiboot, MULTIBOOT_HEADER_MAGIC, type MultibootModule } from './multiboot.js';

export type BootPlan = { kind: 'rom'; state: InitialCpuState; rom: BootromPlan } | { kind: 'kernel'; protocol: 'linux' | 'multiboot'; state: InitialCpuState };

// Synchronous: the files are read once while the VM process starts, with nothing else for
// its event loop to do, and one read(2) of the known size beats the chunked async read.
// A view of the Buffer, not a copy (`new Uint8Array(buffer)` copies: 13 MiB of kernel and
// initrd cost ~18 ms); readers address it through byteOffset like any other view.
async function read(path: string): Promise<Uint8Array> {
  try {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new LoaderError('io', path, `cannot read: ${(e as Error).message}`);
  }
}

function detect(image: Uint8Array): 'linux' | 'multiboot' | undefined {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.length > 0x206 && dv.getUint32(0x202, true) === 0x53726448) return 'linux';
  for (let o = 0; o + 12 <= Math.min(image.length, 8192); o += 4) {
    if (dv.getUint32(o, true) === MULTIBOOT_HEADER_MAGIC) return 'multiboot';
  }
  return undefined;
}

/** `zeroAbove1M`: guest memory from 1 MiB up is known to be zero (see LinuxBootInput). */
export async function prepareBoot(tree: ConfigTree, mem: GuestMemory, e820: E820Entry[], log: Logger, acpiRsdp?: number, zeroAbove1M = false): Promise<BootPlan> {
  const rom = tree.get('bootrom');
  const kernelPath = tree.get('boot.kernel');
  if (rom !== undefined && kernelPath !== undefined) {
    throw new ConfigError('bootrom and boot.kernel are mutually exclusive', EXIT_ERROR);
  }
  try {
    if (rom !== undefined) {
      return { kind: 'rom', state: resetState(), rom: await prepareBootrom(rom, tree.get('bootvars'), log) };
    }
    if (kernelPath === undefined) {
      throw new ConfigError('no bootrom was configured (tsbhyve has no bhyveload: use -l bootrom,ROM or -f kexec,KERNEL / -f multiboot,KERNEL)', EXIT_ERROR);
    }
    const image = await read(kernelPath);
    let protocol = tree.get('boot.protocol') ?? 'auto';
    if (protocol === 'auto') {
      const d = detect(image);
      if (!d) throw new LoaderError('format', kernelPath, 'neither a Linux bzImage nor a multiboot kernel');
      protocol = d;
    }
    const cmdline = tree.get('boot.cmdline') ?? '';
    if (protocol === 'linux') {
      const initrdPath = tree.get('boot.initrd');
      const initrd = initrdPath !== undefined ? await read(initrdPath) : undefined;
      startMark('kernel and initrd read');
      const r = loadLinux(mem, { kernel: image, kernelPath, initrd, initrdPath, cmdline, e820, acpiRsdp, zeroAbove1M });
      return { kind: 'kernel', protocol: 'linux', state: r.state };
    }
    if (protocol === 'multiboot') {
      const modules: MultibootModule[] = [];
      const modsNode = tree.findNode('boot.module');
      for (let i = 0; modsNode?.find(String(i)); i++) {
        const m = modsNode.find(String(i))!;
        const path = m.get('path');
        if (!path) throw new ConfigError(`boot.module.${i}.path is missing`, EXIT_ERROR);
        modules.push({ data: await read(path), path, cmdline: m.get('cmdline') ?? path });
      }
      const r = loadMultiboot(mem, { kernel: image, kernelPath, cmdline: cmdline || kernelPath, modules, e820 });
      return { kind: 'kernel', protocol: 'multiboot', state: r.state };
    }
    throw new ConfigError(`Invalid value for boot.protocol: '${protocol}' (linux, multiboot or auto)`, EXIT_ERROR);
  } catch (e) {
    if (e instanceof LoaderError) throw new ConfigError(e.message, EXIT_ERROR);
    throw e;
  }
}
