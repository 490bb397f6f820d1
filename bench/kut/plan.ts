/**
 * One kvm-unit-tests entry → how to run it, on tsbhyve and on QEMU, the way the harness
 * runs QEMU (x86/run, scripts/runtime.bash run(), scripts/arch-run.bash; see
 * /work/shared/reference/kvm-unit-tests-on-a-vmm.md):
 *
 * - harness-level SKIPs first, in the harness's order: `nodefault` group, `arch` other than
 *   x86_64, `accel = kvm` (we run as ACCEL=tcg: the soft CPU is the TCG peer), `check =`
 *   host files, missing image file;
 * - QEMU: `qemu-system-x86_64 --no-reboot -nodefaults -global kvm-pit.lost_tick_policy=discard
 *   -device pc-testdev -device isa-debug-exit,iobase=0xf4,iosize=0x4 -display none -serial stdio
 *   -device pci-testdev -machine accel=tcg -kernel x86/F -smp N [-append ARGS] PARAMS -initrd ENV`;
 * - tsbhyve: the same guest as a multiboot kernel (`boot.kernel`, `boot.cmdline` = "x86/F ARGS"
 *   so argv[0] is the file name, the environment file as the one module), `-c N`, memory 128M
 *   or the cfg's `-m`, COM1 on stdio, pc-testdev (isa-debug-exit on 0xF4), QEMU fw_cfg on
 *   0x510, the soft CPU. qemu_params are translated or refused: `-cpu` through cpu.ts,
 *   `-m`, `-machine pit=off` (noted: the PIT stays), `-overcommit` (ignored); q35,
 *   vmport, `-enable-kvm`, `-device ...` → SKIP with the reason.
 *
 * Does not spawn anything (run.ts does), so it is unit-tested in CI without kvm-unit-tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { words, type KutTest } from './cfg.js';
import { judgeCpu, type CpuidLeaf } from './cpu.js';

export const DEFAULT_TIMEOUT_S = 90;
export const DEFAULT_MEM_MIB = 128;

export type Plan =
  | { kind: 'skip'; reason: string }
  | {
      kind: 'run';
      /** argv after the program (tsbhyve's, or QEMU's without `-initrd ENV`, appended by the caller). */
      argv: string[];
      timeoutS: number;
      notes: string[];
    };

export interface HostProbe {
  /** Reads a host file for `check =` (default: fs). */
  readFile?(path: string): string | undefined;
  exists?(path: string): boolean;
}

/** "90s", "30", "2m" → seconds; undefined when malformed. */
export function parseTimeout(s: string): number | undefined {
  if (s === '') return DEFAULT_TIMEOUT_S;
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(s.trim());
  if (!m) return undefined;
  const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * mult;
}

/** QEMU `-m` value (default unit MiB; k/m/g/t suffixes, optional B) → MiB. */
export function parseQemuMem(s: string): number | undefined {
  const m = /^(\d+)([kKmMgGtT]?)[bB]?$/.exec(s.startsWith('size=') ? s.slice(5) : s);
  if (!m) return undefined;
  const n = Number(m[1]);
  switch (m[2]!.toLowerCase()) {
    case 'k':
      return n / 1024;
    case 'g':
      return n * 1024;
    case 't':
      return n * 1024 * 1024;
    default:
      return n;
  }
}

/** The harness's own SKIPs, before any VMM is involved; undefined when the test runs. */
export function harnessSkip(t: KutTest, kutDir: string, host: HostProbe = {}): string | undefined {
  const read = host.readFile ?? ((p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined));
  const exists = host.exists ?? existsSync;
  if (t.groups.includes('nodefault')) return 'test marked as manual run only';
  if (t.arch !== '' && t.arch !== 'x86_64') return `${t.arch} only`;
  if (t.accel !== '' && t.accel !== 'tcg') return `${t.accel} only, but ACCEL=tcg`;
  if (t.disabledIf !== '') return `disabled_if not evaluated by this runner: ${t.disabledIf}`;
  for (const c of t.check.split(/\s+/).filter(Boolean)) {
    const eq = c.indexOf('=');
    const path = eq < 0 ? c : c.slice(0, eq);
    const value = eq < 0 ? '' : c.slice(eq + 1);
    const got = read(path);
    if (got === undefined || got.trim() !== value) return `${path} not equal to ${value}`;
  }
  if (!exists(join(kutDir, 'x86', t.file))) return `Test file 'x86/${t.file}' not found`;
  return undefined;
}

/** The `-append` words as the harness passes them (one string, the eval'd test_args). */
export function appendArgs(t: KutTest, now?: () => number): string[] {
  return t.testArgs === '' ? [] : words(t.testArgs, now);
}

/** QEMU's argv (without the timeout wrapper and without `-initrd ENV`). */
export function qemuArgv(t: KutTest, now?: () => number): string[] {
  const argv = [
    '--no-reboot', '-nodefaults', '-global', 'kvm-pit.lost_tick_policy=discard',
    '-device', 'pc-testdev', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x4',
    '-display', 'none', '-serial', 'stdio', '-device', 'pci-testdev',
    '-machine', 'accel=tcg', '-kernel', `x86/${t.file}`, '-smp', String(t.smp),
  ];
  const args = appendArgs(t, now);
  if (args.length > 0) argv.push('-append', args.join(' '));
  argv.push(...words(t.qemuParams, now));
  return argv;
}

export interface TsbhyveOptions {
  /** The soft CPU's CPUID table, as the vmm reports it. */
  cpuid: readonly CpuidLeaf[];
  /** The environment file given to the guest as its multiboot module. */
  envFile: string;
  /** tsbhyve `vmm.backend` (default soft). */
  backend?: string;
  now?: () => number;
}

/** tsbhyve's argv for the test, or the reason it cannot honour the test's QEMU options. */
export function tsbhyvePlan(t: KutTest, kutDir: string, o: TsbhyveOptions): Plan {
  const timeoutS = parseTimeout(t.timeout);
  if (timeoutS === undefined) return { kind: 'skip', reason: `bad timeout '${t.timeout}'` };
  let memMiB = DEFAULT_MEM_MIB;
  const notes: string[] = [];
  const params = words(t.qemuParams, o.now);
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    const arg = params[i + 1];
    switch (p) {
      case '-cpu': {
        i++;
        const v = judgeCpu(arg ?? '', o.cpuid);
        if (!v.ok) return { kind: 'skip', reason: v.reason };
        notes.push(...v.notes);
        break;
      }
      case '-m': {
        i++;
        const m = parseQemuMem(arg ?? '');
        if (m === undefined) return { kind: 'skip', reason: `bad -m value '${arg}'` };
        memMiB = m;
        break;
      }
      case '-machine':
      case '-M': {
        i++;
        for (const prop of (arg ?? '').split(',')) {
          if (prop === 'pit=off') notes.push('pit=off: the PIT stays');
          else if (prop === 'pc' || prop === 'accel=tcg') continue;
          else return { kind: 'skip', reason: `machine option '${prop}' not provided` };
        }
        break;
      }
      case '-overcommit':
        i++;
        break;
      case '-enable-kvm':
        return { kind: 'skip', reason: '-enable-kvm: needs KVM' };
      case '-device':
        return { kind: 'skip', reason: `device ${arg ?? ''} not provided` };
      default:
        return { kind: 'skip', reason: `QEMU option ${p} not translated` };
    }
  }
  const kernel = join(kutDir, 'x86', t.file);
  const cmdline = [`x86/${t.file}`, ...appendArgs(t, o.now)].join(' ');
  const argv = [
    '-c', String(t.smp),
    '-m', `${memMiB}M`,
    '-s', '0,hostbridge',
    '-s', '31,lpc',
    '-l', 'com1,stdio',
    '-l', 'pc-testdev',
    '-o', 'lpc.fwcfg=qemu',
    '-o', `vmm.backend=${o.backend ?? 'soft'}`,
    '-o', 'boot.protocol=multiboot',
    '-o', `boot.kernel=${kernel}`,
    '-o', `boot.cmdline=${cmdline}`,
    '-o', `boot.module.0.path=${o.envFile}`,
    `kut-${t.name}`,
  ];
  return { kind: 'run', argv, timeoutS, notes };
}
