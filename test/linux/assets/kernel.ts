/**
 * Debian's own kernel for the Linux guest: `linux-image-amd64` resolved to its versioned
 * package (linux-image-6.1.0-NN-amd64), downloaded, and unpacked into the cache as
 *
 *   <cache>/<package>_<version>/
 *     vmlinuz            the bzImage
 *     config             the kernel's .config (what is =y, =m)
 *     modules/<name>.ko  the modules the guest loads, decompressed (busybox insmod reads ELF)
 *     manifest.json      package, version, kernel release, module load order, softdeps
 *
 * Debian's package ships no modules.dep (depmod runs in its postinst) and a stub
 * System.map (the real one is in the 800 MB -dbg package), so dependencies are computed
 * from the modules' `.modinfo` (modules.ts) and symbols come from the guest's own
 * /proc/kallsyms (symbols.ts).
 *
 * The package's data archive is written once to a temporary tar file (≈400 MB, deleted
 * afterwards) so modules can be read at their offsets as the dependency walk reaches
 * them, instead of decompressing the 70 MB package once per dependency level.
 *
 * Environment: TSVIRT_LINUX_DEB=/path/to/linux-image-*.deb uses that file instead of apt
 * (offline machines); TSVIRT_LINUX_CACHE moves the cache.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, createReadStream, createWriteStream, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AssetError, cacheKey, cachedDir, dataTarStream, downloadDeb, resolveDependency, type PackageRef } from './debian-package.js';
import { decompressModule, loadOrder, moduleInfo, moduleNameOf, MODULE_SUFFIX, parseBuiltin, type ModuleInfo, type ModuleSource } from './modules.js';
import { readTar, type TarEntry } from './tar.js';

/** What the guest's /init loads: virtio transport and devices, and the disk's filesystem. */
export const GUEST_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_rng', 'ext4'];

/**
 * Softdeps with several providers, and the one the guest uses. crc32c-intel needs SSE4.2
 * (and refuses to load without it), which would make the boot depend on the CPUID the
 * vCPU advertises; the generic C implementation works on any x86-64.
 */
export const MODULE_PREFER: Record<string, string> = { 'crypto-crc32c': 'crc32c_generic', crc32c: 'crc32c_generic' };

export interface KernelManifest {
  package: string;
  version: string;
  release: string;
  /** Module names in insmod order; files are modules/<name>.ko. */
  modules: { name: string; file: string; depends: string[]; from: string }[];
  builtin: string[];
  softdeps: string[];
  systemMapStub: boolean;
}

export interface KernelAssets {
  dir: string;
  vmlinuz: string;
  config: string;
  manifest: KernelManifest;
  modulePath(name: string): string;
}

const MANIFEST = 'manifest.json';

function debRef(deb: string): PackageRef {
  const f = (field: string) => spawnSync('dpkg-deb', ['-f', deb, field], { encoding: 'utf8' }).stdout.trim();
  const name = f('Package');
  const version = f('Version');
  if (!name || !version) throw new AssetError(`${deb} is not a readable Debian package`);
  return { name, version };
}

async function unpack(deb: string, ref: PackageRef, out: string): Promise<void> {
  const tarPath = join(out, 'data.tar');
  const { stream, done } = dataTarStream(deb);
  await Promise.all([pipeline(stream, createWriteStream(tarPath)), done]);

  const boot = new Map<string, Buffer>();
  const mods = new Map<string, TarEntry>();
  let release: string | undefined;
  let builtinList = '';
  let builtinModinfo: Buffer | undefined;
  await readTar(
    createReadStream(tarPath, { highWaterMark: 1 << 20 }),
    (e) => {
      const m = /^lib\/modules\/([^/]+)\/(.*)$/.exec(e.path);
      if (m && e.type === 'file') {
        release ??= m[1];
        if (MODULE_SUFFIX.test(m[2]!)) {
          mods.set(moduleNameOf(e.path), e);
          return false;
        }
        return m[2] === 'modules.builtin' || m[2] === 'modules.builtin.modinfo';
      }
      return /^boot\/(vmlinuz|config|System\.map)-/.test(e.path);
    },
    (e, data) => {
      if (e.path.endsWith('/modules.builtin')) builtinList = data.toString('utf8');
      else if (e.path.endsWith('/modules.builtin.modinfo')) builtinModinfo = data;
      else boot.set(e.path.replace(/^boot\/([A-Za-z.]+)-.*$/, '$1'), data);
    },
  );
  for (const k of ['vmlinuz', 'config']) if (!boot.has(k)) throw new AssetError(`${deb} has no /boot/${k}-*`);
  if (!release) throw new AssetError(`${deb} has no /lib/modules/<release>/`);

  const fd = openSync(tarPath, 'r');
  try {
    const bytes = new Map<string, Buffer>();
    const infos = new Map<string, ModuleInfo>();
    const read = (name: string): ModuleInfo | undefined => {
      const cached = infos.get(name);
      if (cached) return cached;
      const e = mods.get(name);
      if (!e) return undefined;
      const raw = Buffer.allocUnsafe(e.size);
      if (readSync(fd, raw, 0, e.size, e.dataOffset) !== e.size) throw new AssetError(`short read of ${e.path}`);
      const ko = decompressModule(e.path, raw);
      const info = moduleInfo(e.path, ko);
      bytes.set(info.name, ko);
      infos.set(name, info);
      return info;
    };
    const source: ModuleSource = {
      info: (n) => read(n.replace(/-/g, '_')),
      *all() {
        for (const n of mods.keys()) yield read(n)!;
      },
    };
    const plan = loadOrder(source, parseBuiltin(builtinList, builtinModinfo), GUEST_MODULES, MODULE_PREFER);
    mkdirSync(join(out, 'modules'));
    for (const m of plan.order) writeFileSync(join(out, 'modules', `${m.name}.ko`), bytes.get(m.name)!);
    writeFileSync(join(out, 'vmlinuz'), boot.get('vmlinuz')!);
    writeFileSync(join(out, 'config'), boot.get('config')!);
    const manifest: KernelManifest = {
      package: ref.name,
      version: ref.version,
      release,
      modules: plan.order.map((m) => ({ name: m.name, file: `modules/${m.name}.ko`, depends: m.depends, from: m.path })),
      builtin: plan.builtin,
      softdeps: plan.softdeps,
      systemMapStub: (boot.get('System.map')?.length ?? 0) < 4096,
    };
    writeFileSync(join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
}

/** Resolves, downloads (once per package version) and returns Debian's kernel assets. */
export async function debianKernel(): Promise<KernelAssets> {
  const local = process.env.TSVIRT_LINUX_DEB;
  const ref = local ? debRef(local) : resolveDependency('linux-image-amd64', /^linux-image-\d.*-amd64$/);
  const dir = await cachedDir(cacheKey(ref), MANIFEST, async (tmp) => {
    const deb = local ?? downloadDeb(ref, join(tmp, 'download'));
    await unpack(deb, ref, tmp);
    rmSync(join(tmp, 'download'), { recursive: true, force: true });
    rmSync(join(tmp, 'data.tar'), { force: true });
  });
  const manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as KernelManifest;
  for (const m of manifest.modules) if (!existsSync(join(dir, m.file))) throw new AssetError(`cache entry ${dir} lacks ${m.file}: remove it to rebuild`);
  return {
    dir,
    vmlinuz: join(dir, 'vmlinuz'),
    config: join(dir, 'config'),
    manifest,
    modulePath: (name) => join(dir, 'modules', `${name}.ko`),
  };
}

/** A kernel .config as symbol → value (`y`, `m`, a string or number); unset symbols are absent. */
export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.replace(/^"(.*)"$/, '$1'));
  }
  return out;
}
