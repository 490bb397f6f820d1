/**
 * Networking glue: tap devices created, raised and enslaved to their bridge for a start,
 * and removed when the run ends — with real devices (iproute2), so it needs
 * CAP_NET_ADMIN; skipped with the reason otherwise. A start through the driver with the VM
 * stand-in checks the whole path (translation → taps → run → destroy → taps gone).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setUpTaps, tapNamer, tearDownTaps } from '../../../src/driver/net.js';
import { BhyveDriver } from '../../../src/driver/driver.js';
import { bhyveTranslator } from '../../../src/driver/translator.js';
import { buildLifecycle, standInPath, supervisorEntry } from './helpers/build.js';
import { standInDomain } from './helpers/stand-in-domain.js';
import { removeRoot } from './helpers/cleanup.js';

function canAdminNet(): string | undefined {
  try {
    execFileSync('ip', ['tuntap', 'add', 'dev', 'tsvprobe0', 'mode', 'tap'], { stdio: 'pipe' });
    execFileSync('ip', ['link', 'del', 'dev', 'tsvprobe0'], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `cannot create tap devices here (${((e as { stderr?: Buffer }).stderr?.toString() ?? String(e)).trim()})`;
  }
}
const why = canAdminNet();
const dev = (n: string) => existsSync(`/sys/class/net/${n}`);

describe('tap names', () => {
  it('keeps a tap name the domain gives and picks free vnetN names otherwise', () => {
    const name = tapNamer();
    expect(name({ target: { dev: 'tap7' } } as never, 0)).toBe('tap7');
    const a = name({} as never, 0);
    const b = name({} as never, 1);
    expect(a).toMatch(/^vnet\d+$/);
    expect(b).toMatch(/^vnet\d+$/);
    expect(a).not.toBe(b);
    expect(dev(a)).toBe(false);
  });
});

describe.skipIf(why !== undefined)(`tap devices${why ? ` — skipped: ${why}` : ''}`, () => {
  afterAll(() => {
    for (const d of ['tsvtest0', 'tsvtest1', 'tsvbr0']) if (dev(d)) execFileSync('ip', ['link', 'del', 'dev', d]);
  });

  it('creates, raises and enslaves taps, and removes them again', async () => {
    execFileSync('ip', ['link', 'add', 'tsvbr0', 'type', 'bridge']);
    const created = await setUpTaps([
      { index: 0, type: 'ethernet', backend: 'tsvtest0', mac: '52:54:00:00:00:01' },
      { index: 1, type: 'bridge', backend: 'tsvtest1', bridge: 'tsvbr0', mac: '52:54:00:00:00:02' },
      { index: 2, type: 'user', backend: 'slirp', mac: '52:54:00:00:00:03' },
    ]);
    expect(created).toEqual(['tsvtest0', 'tsvtest1']);
    expect(dev('tsvtest0') && dev('tsvtest1')).toBe(true);
    expect(readlinkSync('/sys/class/net/tsvtest1/master')).toMatch(/tsvbr0$/);
    await tearDownTaps(created);
    expect(dev('tsvtest0') || dev('tsvtest1')).toBe(false);
  });

  it('a missing bridge is a clear error and leaves no tap behind', async () => {
    await expect(setUpTaps([{ index: 0, type: 'bridge', backend: 'tsvtest0', bridge: 'nosuchbr9', mac: '52:54:00:00:00:01' }])).rejects.toThrow(
      "Cannot attach tap device tsvtest0 to bridge 'nosuchbr9': no such bridge",
    );
    expect(dev('tsvtest0')).toBe(false);
  });

  it('a started domain gets its tap; destroy removes it', async () => {
    await buildLifecycle();
    const root = mkdtempSync(join(tmpdir(), 'tsvirt-net-'));
    const drv = await BhyveDriver.open({ root, emulator: [process.execPath, standInPath()], supervisorEntry: supervisorEntry(), translator: bhyveTranslator({ root }), autostart: false });
    try {
      const xml = standInDomain('net1', '33333333-3333-4333-8333-333333333333').replace(
        '<devices>',
        "<devices>\n    <interface type='ethernet'><mac address='52:54:00:12:34:56'/><target dev='tapnet1'/><model type='virtio'/></interface>",
      );
      const ref = await drv.startDomain(await drv.defineDomain(xml, 0), 0);
      expect(dev('tapnet1')).toBe(true);
      expect(await drv.getDomainXml(ref, 0)).toContain("<target dev='tapnet1'/>");
      await drv.destroyDomain(ref, 0);
      expect(dev('tapnet1')).toBe(false);
    } finally {
      await drv.close();
      await removeRoot(root);
      if (dev('tapnet1')) execFileSync('ip', ['link', 'del', 'dev', 'tapnet1']);
    }
  });
});
