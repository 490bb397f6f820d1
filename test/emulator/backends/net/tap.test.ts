import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TapBackend, TapError } from '../../../../src/emulator/backends/net/tap.js';

/** Tap needs /dev/net/tun, CAP_NET_ADMIN and python3; say why when they are missing. */
function tapUnavailable(): string | undefined {
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun does not exist';
  if (spawnSync('python3', ['-c', '1']).status !== 0) return 'python3 is not available';
  try {
    TapBackend.open('tsvtprobe0').close();
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

const why = tapUnavailable();
if (why) console.warn(`skipping tap backend tests: ${why}`);

describe.skipIf(why !== undefined)('tap network backend', () => {
  it('exchanges frames with the host kernel through a tap interface', async () => {
    const tap = TapBackend.open('tsvttest0');
    const frames: Uint8Array[] = [];
    tap.setReceiver((f) => frames.push(f.slice()));
    execFileSync('ip', ['link', 'set', 'tsvttest0', 'up']);
    // A broadcast ARP request from a made-up MAC: the kernel counts it as received.
    const rx0 = Number(readFileSync('/sys/class/net/tsvttest0/statistics/rx_packets', 'utf8'));
    const arp = Buffer.from('ffffffffffff' + '525400aabbcc' + '0806' + '0001080006040001' + '525400aabbcc' + 'c0a86401' + '000000000000' + 'c0a86402', 'hex');
    tap.send(new Uint8Array(Buffer.concat([arp, Buffer.alloc(60 - arp.length)])));
    const t0 = Date.now();
    while (Number(readFileSync('/sys/class/net/tsvttest0/statistics/rx_packets', 'utf8')) === rx0) {
      if (Date.now() - t0 > 3000) throw new Error('kernel did not receive the frame');
      await new Promise((r) => setTimeout(r, 20));
    }
    // The kernel sends IPv6 router solicitations / MLD reports on a fresh interface.
    const t1 = Date.now();
    while (frames.length === 0 && Date.now() - t1 < 8000) await new Promise((r) => setTimeout(r, 50));
    await tap.close();
    if (frames.length === 0) console.warn('the kernel sent no frame on the tap interface (IPv6 disabled?)');
    else expect(frames[0]!.length).toBeGreaterThanOrEqual(14);
  }, 20_000);

  it('refuses invalid interface names', () => {
    expect(() => TapBackend.open('bad name!')).toThrow(TapError);
  });
});
