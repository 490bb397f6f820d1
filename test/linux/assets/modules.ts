/**
 * Kernel modules for the guest's initramfs: what depmod/modprobe would do, from the
 * modules' own `.modinfo`, because Debian's kernel package ships no modules.dep (its
 * postinst runs depmod on the installed system) and the test installs nothing.
 *
 * - `moduleNameOf(path)`: `kernel/drivers/char/hw_random/virtio-rng.ko.xz` → `virtio_rng`
 *   (the kernel treats `-` and `_` alike).
 * - `decompressModule`: `.ko` as is, `.ko.xz` (xz -dc), `.ko.zst` (zstd -dc), `.ko.gz`;
 *   busybox insmod in the guest then loads plain ELF.
 * - `loadOrder`: the closure of the wanted modules over `depends=` (hard) and `softdep=pre:`
 *   (softdeps name a module or an alias such as `crypto-crc32c`; aliases are matched as
 *   modprobe does, with `*`/`?` wildcards). Modules that are built into the kernel
 *   (modules.builtin) are satisfied without a file. An alias several modules provide is an
 *   error unless `prefer` names the one to use, so the choice is always explicit.
 *   The result lists dependencies before their users (insmod order).
 *
 * Pure functions over a ModuleSource; reading the archive is debian-kernel.ts's job.
 */
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { readModinfo } from './elf.js';

export class ModuleError extends Error {}

export interface ModuleInfo {
  name: string;
  /** Path inside the package (`lib/modules/<release>/kernel/...`). */
  path: string;
  depends: string[];
  /** softdep `pre:` entries (module names or aliases). */
  softPre: string[];
  aliases: string[];
}

export interface BuiltinInfo {
  names: Set<string>;
  aliases: string[];
}

export const MODULE_SUFFIX = /\.ko(\.xz|\.zst|\.gz)?$/;

export function canonicalName(n: string): string {
  return n.replace(/-/g, '_');
}

export function moduleNameOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return canonicalName(base.replace(MODULE_SUFFIX, ''));
}

export function decompressModule(path: string, data: Buffer): Buffer {
  const run = (cmd: string) => {
    try {
      return execFileSync(cmd, ['-dc'], { input: data, maxBuffer: 256 << 20 });
    } catch (e) {
      throw new ModuleError(`cannot decompress ${path} with ${cmd}: ${(e as Error).message}`);
    }
  };
  if (path.endsWith('.ko')) return data;
  if (path.endsWith('.ko.xz')) return run('xz');
  if (path.endsWith('.ko.zst')) return run('zstd');
  if (path.endsWith('.ko.gz')) return gunzipSync(data);
  throw new ModuleError(`${path}: not a kernel module file name`);
}

function splitList(v: string | undefined): string[] {
  return (v ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(canonicalName);
}

/** Parses `softdep=pre: a b post: c` into its pre list. */
export function softdepPre(values: string[]): string[] {
  const pre: string[] = [];
  for (const v of values) {
    let mode = '';
    for (const tok of v.split(/\s+/).filter(Boolean)) {
      if (tok === 'pre:' || tok === 'post:') mode = tok;
      else if (mode === 'pre:') pre.push(tok);
    }
  }
  return pre;
}

/** A module's index record from its (decompressed) bytes. */
export function moduleInfo(path: string, ko: Uint8Array): ModuleInfo {
  const mi = readModinfo(ko, path);
  const name = canonicalName(mi.get('name')?.[0] ?? moduleNameOf(path));
  return {
    name,
    path,
    depends: splitList(mi.get('depends')?.[0]),
    softPre: softdepPre(mi.get('softdep') ?? []),
    aliases: mi.get('alias') ?? [],
  };
}

/** modules.builtin (paths) and modules.builtin.modinfo (`name.key=value\0`...). */
export function parseBuiltin(list: string, modinfo: Buffer | undefined): BuiltinInfo {
  const names = new Set<string>();
  for (const line of list.split('\n')) if (line.trim()) names.add(moduleNameOf(line.trim()));
  const aliases: string[] = [];
  if (modinfo) {
    for (const rec of modinfo.toString('utf8').split('\0')) {
      const m = /^([^.=]+)\.alias=(.*)$/s.exec(rec);
      if (m) aliases.push(m[2]!);
      const n = /^([^.=]+)\./.exec(rec);
      if (n) names.add(canonicalName(n[1]!));
    }
  }
  return { names, aliases };
}

/** fnmatch(3) with `*` and `?` (what module alias patterns use). */
export function aliasMatches(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|\\[\]]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return re.test(name);
}

export interface LoadPlan {
  /** Modules to insmod, dependencies first. */
  order: ModuleInfo[];
  /** Wanted or needed names satisfied by the kernel image itself. */
  builtin: string[];
  /** How each softdep was resolved (`ext4: crypto-crc32c -> crc32c_generic`). */
  softdeps: string[];
}

/**
 * Where loadOrder finds modules: `info(name)` reads one module's record (lazily: a
 * compressed module is decompressed only when reached), `all()` every module of the
 * package (used only to find the providers of a softdep alias no `prefer` entry names).
 */
export interface ModuleSource {
  info(name: string): ModuleInfo | undefined;
  all(): Iterable<ModuleInfo>;
}

/** A ModuleSource over records already in memory (tests, small sets). */
export function moduleSourceOf(mods: Iterable<ModuleInfo>): ModuleSource {
  const map = new Map<string, ModuleInfo>();
  for (const m of mods) map.set(m.name, m);
  return { info: (n) => map.get(canonicalName(n)), all: () => map.values() };
}

export function loadOrder(
  source: ModuleSource,
  builtin: BuiltinInfo,
  wanted: string[],
  prefer: Record<string, string> = {},
): LoadPlan {
  const order: ModuleInfo[] = [];
  const builtinHit = new Set<string>();
  const softdeps: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const provides = (m: ModuleInfo, dep: string) => m.name === canonicalName(dep) || m.aliases.some((a) => aliasMatches(a, dep));

  const resolveSoft = (user: string, dep: string): string | undefined => {
    const c = canonicalName(dep);
    if (source.info(c)) return c;
    if (builtin.names.has(c) || builtin.aliases.some((a) => aliasMatches(a, dep))) return undefined;
    const choice = prefer[dep];
    if (choice !== undefined) {
      const m = source.info(choice);
      if (!m || !provides(m, dep)) throw new ModuleError(`${user}: softdep '${dep}' is to use ${choice}, which does not provide it`);
      return m.name;
    }
    const providers = [...source.all()].filter((m) => provides(m, dep)).map((m) => m.name);
    if (providers.length === 1) return providers[0];
    if (providers.length === 0) throw new ModuleError(`${user}: softdep '${dep}' is provided by no module in the package and is not built in`);
    throw new ModuleError(`${user}: softdep '${dep}' has several providers (${providers.join(', ')}); name one in prefer`);
  };

  const visit = (name: string, from: string): void => {
    const n = canonicalName(name);
    const s = state.get(n);
    if (s === 'done') return;
    if (s === 'visiting') throw new ModuleError(`module dependency cycle through ${n} (from ${from})`);
    const m = source.info(n);
    if (!m) {
      if (builtin.names.has(n)) {
        builtinHit.add(n);
        state.set(n, 'done');
        return;
      }
      throw new ModuleError(`module ${n} (needed by ${from}) is neither in the package nor built into the kernel`);
    }
    state.set(n, 'visiting');
    for (const dep of m.softPre) {
      const r = resolveSoft(n, dep);
      softdeps.push(`${n}: ${dep} -> ${r ?? 'built in'}`);
      if (r !== undefined) visit(r, `${n} (softdep)`);
    }
    for (const dep of m.depends) visit(dep, n);
    state.set(n, 'done');
    order.push(m);
  };

  for (const w of wanted) visit(w, 'the guest');
  return { order, builtin: [...builtinHit].sort(), softdeps };
}
