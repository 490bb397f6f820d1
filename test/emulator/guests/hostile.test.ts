// Hostile virtio drivers (fixtures/guests/hostile): descriptors outside guest RAM,
// straddling its end or wrapping the address space, 4 GiB buffers, descriptor loops (direct
// and indirect), out-of-range heads/next/avail indices, bad queue sizes, a used ring
// outside RAM, an oversized entropy request. Virtio 1.2 allows two answers: complete the
// request with an error status, or stop the device (DEVICE_NEEDS_RESET, §2.1.2). The test
// asserts which one tsbhyve picks for each case, that the canary page at the top of RAM
// is intact (nothing written past a buffer's valid part), that a device reset brings the
// device back, and that the process reports every fault and exits normally. QEMU runs the
// same guest as a reference for the guest itself (its choices differ and are not asserted).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternedImage } from './patterns.js';
import { guestElf, haveQemu, removeBuild, runQemu, runTsbhyve } from './rig.js';

let elf: string;
let dir: string;
beforeAll(async () => {
  elf = await guestElf('hostile');
  dir = mkdtempSync(join(tmpdir(), 'guest-hostile-'));
}, 120_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeBuild();
});

const STOPS = 'needs-reset';
const IOERR = 'status=1';
/** tsbhyve's choice per case: ring/descriptor violations stop the device; requests that
 * are well-formed as chains but wrong for virtio-blk complete with VIRTIO_BLK_S_IOERR. */
const EXPECTED: Record<string, string> = {
  'data-beyond-ram': STOPS,
  'header-beyond-ram': STOPS,
  'status-beyond-ram': STOPS,
  'data-straddles-end-of-ram': STOPS,
  'oversized-4GiB-buffer': STOPS,
  'address-wraps-64-bit': STOPS,
  'descriptor-loop': STOPS,
  'next-out-of-range': STOPS,
  'head-out-of-range': STOPS,
  'avail-index-jump': STOPS,
  'indirect-table-beyond-ram': STOPS,
  'indirect-loop': STOPS,
  'data-not-sector-multiple': IOERR,
  'read-into-readonly-buffer': IOERR,
  'queue-size-zero': STOPS,
  'queue-size-not-power-of-two': STOPS,
  'queue-size-above-maximum': STOPS,
  'used-ring-beyond-ram': STOPS,
  'rng-oversized': STOPS,
};

function cases(out: string): Map<string, { outcome: string; canary: string; recovered: string }> {
  const m = new Map<string, { outcome: string; canary: string; recovered: string }>();
  for (const x of out.matchAll(/^CASE (\S+): (.+) canary=(\S+) recovered=(\S+)$/gm)) {
    m.set(x[1]!, { outcome: x[2]!, canary: x[3]!, recovered: x[4]! });
  }
  return m;
}

describe('hostile virtio driver on tsbhyve', () => {
  it('every fault ends in an error status or a stopped device; memory and the process survive', async () => {
    const disk = join(dir, 'disk.img');
    const image = patternedImage(64);
    writeFileSync(disk, image);
    const r = await runTsbhyve(elf, ['-s', `3,virtio-blk,${disk}`, '-s', '4,virtio-rnd'], {}, 'hostile');
    const got = cases(r.stdout);
    expect(Object.fromEntries([...got].map(([k, v]) => [k, v.outcome]))).toEqual(EXPECTED);
    for (const [name, c] of got) {
      expect({ name, canary: c.canary, recovered: c.recovered }).toEqual({ name, canary: 'intact', recovered: 'yes' });
    }
    expect(r.stdout).toContain('PASS: no case completed with success, clobbered memory or stayed broken after reset');
    expect(r.status).toBe(1);
    // Each stop is reported on stderr with its cause.
    expect(r.stderr).toContain('descriptor loop from head 0; device needs reset');
    expect(r.stderr).toContain('is not guest RAM; device needs reset');
    expect(r.stderr).toContain('used ring at 0x1000000000 is not guest RAM');
    // The guest only ever read the disk.
    expect(readFileSync(disk).equals(image)).toBe(true);
  }, 120_000);
});

describe.runIf(haveQemu())('hostile virtio driver on QEMU TCG (reference)', () => {
  it('runs every case to the end and recovers the device after each', async () => {
    const disk = join(dir, 'qemu.img');
    writeFileSync(disk, patternedImage(64));
    const r = await runQemu(elf, ['-drive', `file=${disk},if=none,id=d0,format=raw,readonly=on`, '-device', 'virtio-blk-pci,drive=d0', '-device', 'virtio-rng-pci']);
    const got = cases(r.stdout);
    expect([...got.keys()]).toEqual(Object.keys(EXPECTED));
    for (const c of got.values()) expect(c.recovered).toBe('yes');
    expect(r.stdout).toMatch(/SUMMARY: /);
  }, 120_000);
});
