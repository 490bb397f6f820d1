// The addon staleness check (src/emulator/vmm/native-freshness.ts): a C++ source or
// binding.gyp modified after the addon was built names the addon stale; a tree without
// native/ or with every source older is fresh.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newerNativeSource } from '../../../src/emulator/vmm/native-freshness.js';

describe('newerNativeSource', () => {
  let root: string;
  let addon: string;
  const at = (path: string, seconds: number): void => utimesSync(path, seconds, seconds);
  const file = (rel: string, seconds: number): string => {
    const path = join(root, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '// x\n');
    at(path, seconds);
    return path;
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tsvirt-fresh-'));
    file('binding.gyp', 1000);
    file('native/soft/exec.cc', 1000);
    file('native/soft/core.h', 1000);
    file('native/vmm/devices/vlapic.cc', 1000);
    file('native/README.md', 5000);  // not a source
    addon = file('build/Release/tsvirt_vmm.node', 2000);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('is fresh when every source is older than the addon', () => {
    expect(newerNativeSource(root, addon)).toBeUndefined();
  });

  it('names a soft CPU source changed after the build (the stale-addon #DB case)', () => {
    const changed = file('native/soft/ops_sysregs.cc', 3000);
    expect(newerNativeSource(root, addon)).toBe(changed);
  });

  it('looks into nested folders, headers and binding.gyp', () => {
    const header = join(root, 'native/soft/core.h');
    at(header, 3000);
    expect(newerNativeSource(root, addon)).toBe(header);
    at(header, 1000);
    const dev = join(root, 'native/vmm/devices/vlapic.cc');
    at(dev, 3000);
    expect(newerNativeSource(root, addon)).toBe(dev);
    at(dev, 1000);
    at(join(root, 'binding.gyp'), 3000);
    expect(newerNativeSource(root, addon)).toBe(join(root, 'binding.gyp'));
  });

  it('takes a tree without native/ (an installed package) as fresh', () => {
    rmSync(join(root, 'native'), { recursive: true });
    expect(newerNativeSource(root, addon)).toBeUndefined();
  });
});
