/**
 * Staleness check of the native vmm addon against the C++ sources it is built from.
 *
 * The addon (`build/Release/tsvirt_vmm.node`) is compiled only by `npm install` /
 * `npm run build:native`, while the soft CPU's own test tools and the guest programs are
 * compiled on demand from the current tree. After a merge or an edit under `native/`, an
 * old addon would run old CPU and device code against new guests and tests, and its
 * failures look like emulation bugs (a SYSCALL/SYSRET single-step fix present in
 * native/soft but absent from the addon gave a second #DB only "through the vmm"). This
 * module finds a source newer than the addon so the loader (native.ts) can refuse it.
 *
 * What it does not do: hash contents (a file touched without a change also counts as
 * newer, which a rebuild settles) or rebuild anything. A tree without `native/` (an
 * installed package) has nothing to compare and is taken as fresh.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SOURCE = /\.(cc|h|gyp)$/;

/** The first file under `root`/native (or `root`/binding.gyp) modified after `addon`, if any. */
export function newerNativeSource(root: string, addon: string): string | undefined {
  const built = statSync(addon).mtimeMs;
  const gyp = join(root, 'binding.gyp');
  if (mtime(gyp) > built) return gyp;
  const stack = [join(root, 'native')];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) stack.push(path);
      else if (e.isFile() && SOURCE.test(e.name) && mtime(path) > built) return path;
    }
  }
  return undefined;
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
