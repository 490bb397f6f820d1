/**
 * Kernel symbols for turning a guest RIP into `function+0xoff/0xsize`, as issue 10 asks
 * ("where the boot stops: last console line, RIP, symbol from the kernel's System.map").
 *
 * Debian's package ships a stub System.map (one line pointing at the 800 MB -dbg package),
 * so the map is taken from the kernel itself: the guest is booted once on QEMU TCG with
 * `nokaslr tsvirt.kallsyms=1`, /init saves /proc/kallsyms (gzip) to the disk, and the
 * text is cached beside the kernel as `kallsyms` (same format as System.map, plus the
 * module column). With `nokaslr` (the test command line has it) the addresses are the
 * link-time ones, valid for every boot of this kernel on any hypervisor.
 *
 * Symbolizer.lookup works from the sorted table; an address outside the kernel text and
 * modules gives undefined.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { AssetError } from './debian-package.js';
import { readDiskFile } from './disk.js';
import type { LinuxAssets } from '../guest/prepare.js';

export interface KSym {
  addr: bigint;
  type: string;
  name: string;
  module?: string;
}

export function parseKallsyms(text: string): KSym[] {
  const out: KSym[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{8,16}) (\S) (\S+)(?:\s+\[(\S+)\])?$/.exec(line.trim());
    if (!m) continue;
    const addr = BigInt(`0x${m[1]}`);
    if (addr === 0n) continue;
    out.push({ addr, type: m[2]!, name: m[3]!, module: m[4] });
  }
  return out.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
}

export class Symbolizer {
  private readonly text: KSym[];

  constructor(syms: KSym[]) {
    // Code symbols only (t/T/w/W): data symbols would claim text addresses between functions.
    this.text = syms.filter((s) => /^[tTwW]$/.test(s.type));
  }

  get size(): number {
    return this.text.length;
  }

  /** `name+0xoff/0xsize [module]`, or undefined outside the table. */
  lookup(addr: bigint): string | undefined {
    const t = this.text;
    let lo = 0;
    let hi = t.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid]!.addr <= addr) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best < 0) return undefined;
    const s = t[best]!;
    let next = best + 1;
    while (next < t.length && t[next]!.addr === s.addr) next++;
    const size = next < t.length ? t[next]!.addr - s.addr : undefined;
    const off = addr - s.addr;
    if (size === undefined || off >= size || off > 0x100000n) return undefined;
    return `${s.name}+0x${off.toString(16)}/0x${size.toString(16)}${s.module ? ` [${s.module}]` : ''}`;
  }

  address(name: string): bigint | undefined {
    return this.text.find((s) => s.name === name)?.addr;
  }
}

/** The kernel's symbols if they are already cached (no boot), else undefined. */
export function cachedSymbols(kernelDir: string): Symbolizer | undefined {
  const file = join(kernelDir, 'kallsyms');
  return existsSync(file) ? new Symbolizer(parseKallsyms(readFileSync(file, 'utf8'))) : undefined;
}

/** Appends `<symbol>` after every kernel text address (0xffffffff8…) in a log. */
export function annotateAddresses(text: string, sym: Symbolizer): string {
  return text.replace(/\b(0x)?(ffffffff[89a-f][0-9a-f]{7})\b/gi, (m, _p: string, hex: string) => {
    const name = sym.lookup(BigInt(`0x${hex}`));
    return name ? `${m} <${name}>` : m;
  });
}

/**
 * The cached kallsyms of the assets' kernel, made with one QEMU TCG boot when absent.
 * `boot` is injected (qemu-boot.ts's runner) to keep this module free of QEMU details.
 */
export async function kernelSymbols(
  assets: LinuxAssets,
  boot: (cmdlineExtra: string[]) => Promise<{ diskImage: string; diagnosis: string; dispose(): Promise<void> }>,
): Promise<Symbolizer> {
  const file = join(assets.kernel.dir, 'kallsyms');
  if (!existsSync(file)) {
    const run = await boot(['tsvirt.kallsyms=1']);
    try {
      const gz = readDiskFile(run.diskImage, '/tsvirt/kallsyms.gz');
      if (!gz) throw new AssetError(`the guest saved no kallsyms:\n${run.diagnosis}`);
      const tmp = `${file}.tmp-${process.pid}`;
      writeFileSync(tmp, gunzipSync(gz));
      renameSync(tmp, file);
    } finally {
      await run.dispose();
    }
  }
  const syms = parseKallsyms(readFileSync(file, 'utf8'));
  if (syms.length < 1000) throw new AssetError(`${file} holds only ${syms.length} symbols (kptr_restrict hid them?)`);
  return new Symbolizer(syms);
}
