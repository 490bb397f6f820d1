// Posted writes (ioeventfd-style notify ranges, native/vmm/posted_writes.h) on every
// backend present: the guest fixtures/guests/vmm/posted writes to registered ranges; the
// host checks that posted writes are handled without exits, before the vCPU's next
// synchronous exit, that a full ring falls back to exits without losing or reordering a
// write, and that writes pending when a range is removed still reach its handler.
import { describe, expect, it } from 'vitest';
import { availableBackends, reportMissingBackends, runGuest } from './guest-harness.js';
import { Vm, VmmError, type VmExit } from '../../../src/emulator/vmm/vmm.js';

const { present, missing } = availableBackends();

function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* hold the JavaScript thread: the vCPU keeps posting into its ring */
  }
}

describe.each(present)('posted writes (%s)', (backend) => {
  it('posts notify writes, keeps vCPU order across exits, falls back when full, delivers after removal', async () => {
    const seen540: number[] = [];
    const seen544: Array<[string, number]> = [];
    const mmio: Array<[number, number]> = [];
    let dm = 0;
    const checks: Record<string, unknown> = {};
    const ids: Record<string, number> = {};
    let vmRef: Vm | undefined;
    const r = await runGuest('posted', {
      backend,
      postedRingEntries: 8,
      timeoutMs: 120_000,
      setup: (vm) => {
        vmRef = vm;
        ids.p540 = vm.addPostedWrite({ space: 'io', address: 0x540, length: 2, width: 2 }, (off, v) => seen540.push(off === 0 ? v : -1));
        ids.p544 = vm.addPostedWrite({ space: 'io', address: 0x544, length: 2, width: 2 }, (_o, v) => {
          seen544.push(['posted', v]);
          if (v !== 0) return;
          // Phase C: hold the JS thread inside this handler while the vCPU runs on, so its
          // 8-entry ring fills and later writes fall back to exits; then remove the range
          // while writes are still queued.
          busyWait(400);
          checks.deliveredAtRemoval = seen544.length;
          checks.postedAtRemoval = vm.vcpu(0)!.stats().postedWrites - (checks.b as { posted: number }).posted;
          vm.removePostedWrite(ids.p544!);
        });
        ids.p548 = vm.addPostedWrite({ space: 'io', address: 0x548, length: 1, width: 1, datamatch: 1 }, (_o, v) => {
          if (v === 1) dm++;
        });
        ids.m = vm.addPostedWrite({ space: 'mmio', address: 0xff001000, length: 16, width: 4 }, (off, v) => mmio.push([off, v]));
      },
      onExit: (exit: VmExit, vm: Vm) => {
        if (exit.kind === 'inout' && !exit.in && exit.port === 0x540 && exit.size === 2) {
          seen540.push(exit.value); // a ring-full fallback
          return true;
        }
        if (exit.kind === 'mmio' && exit.write && exit.size === 4 && exit.gpa >= 0xff001000 && exit.gpa < 0xff001010) {
          mmio.push([exit.gpa - 0xff001000, exit.value]); // a ring-full fallback
          return true;
        }
        if (exit.kind === 'inout' && !exit.in && exit.port === 0x548 && exit.value === 1) {
          dm++; // a ring-full fallback
          return true;
        }
        if (exit.kind === 'inout' && !exit.in && exit.port === 0x544) {
          seen544.push(['exit', exit.value]);
          return true;
        }
        if (exit.kind !== 'inout' || exit.in || exit.port !== 0xe0) return false;
        const stats = vm.vcpu(0)!.stats();
        if (exit.value === 0xa0) {
          checks.a = { seen: [...seen540], posted: stats.postedWrites };
        } else if (exit.value === 0xb0) {
          checks.b = { mmio: [...mmio], dm, posted: stats.postedWrites };
        } else if (exit.value === 0xc0) {
          checks.c = { seen: [...seen544], stats };
        }
        return true;
      },
    });
    expect(r.timedOut).toBe(false);
    expect(r.status).toBe(1);

    // A: 64 writes (posted, or exits when the 8-entry ring was full), all handled once and
    // in the guest's order before the marker exit.
    const a = checks.a as { seen: number[]; posted: number };
    expect(a.seen).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(a.posted).toBeGreaterThan(0);
    expect(r.portCounts.get(0x540)).toBe(1); // the 4-byte write of phase B exited

    // B: 16 MMIO writes posted with their offsets; the 2-byte write and the read exited;
    // datamatch posted 5, the 3 misses exited.
    const b = checks.b as { mmio: Array<[number, number]>; dm: number; posted: number };
    expect(b.mmio).toEqual(Array.from({ length: 16 }, (_, i) => [4 * (i % 4), 0x1000 + i]));
    expect(b.dm).toBe(5);
    expect(r.portCounts.get(0x548)).toBe(3);
    expect(b.posted - a.posted).toBeLessThanOrEqual(16 + 5);

    // C: every write exactly once, in the guest's order, through either path.
    const c = checks.c as { seen: Array<[string, number]>; stats: { postedWrites: number; postedFallbacks: number } };
    const values = c.seen.map(([, v]) => v);
    expect(values).toEqual([...Array.from({ length: 200 }, (_, i) => i), 1000, 1001, 1002, 1003]);
    const posted = c.seen.filter(([how]) => how === 'posted').length;
    const postedAtRemoval = checks.postedAtRemoval as number;
    // The held JS thread let the 8-entry ring fill: at least those 8 writes were still
    // queued when the range was removed, and they were delivered afterwards, before the
    // fallback exit (the order check above).
    expect(postedAtRemoval - (checks.deliveredAtRemoval as number)).toBeGreaterThanOrEqual(8);
    expect(posted).toBe(postedAtRemoval);
    expect(c.stats.postedFallbacks).toBeGreaterThanOrEqual(1);
    // After the removal nothing more is posted for 0x544.
    expect(c.seen.slice(posted).every(([how]) => how === 'exit')).toBe(true);
    expect(vmRef).toBeDefined();
    vmRef?.destroy();
  }, 180_000);
});

describe.each(present)('posted write ranges are validated (%s)', (backend) => {
  it('refuses bad ranges and overlaps with a VmmError, and unknown ids', () => {
    const vm = Vm.create({ backend, memorySize: 16 << 20 });
    try {
      const h = () => {};
      const bad = [
        { space: 'io', address: 0xffff, length: 2, width: 2 },
        { space: 'io', address: 0x100, length: 8, width: 8 },
        { space: 'io', address: 0x100, length: 1, width: 2 },
        { space: 'mmio', address: 0x1000, length: 4, width: 3 },
        { space: 'io', address: 0x100, length: 1, width: 1, datamatch: 0x100 },
      ] as const;
      for (const range of bad) expect(() => vm.addPostedWrite(range as never, h), JSON.stringify(range)).toThrow(VmmError);
      const id = vm.addPostedWrite({ space: 'io', address: 0x100, length: 4, width: 2 }, h);
      expect(() => vm.addPostedWrite({ space: 'io', address: 0x102, length: 2, width: 2 }, h)).toThrow(/overlaps/);
      // Distinct datamatch values may share an address.
      const d1 = vm.addPostedWrite({ space: 'io', address: 0x200, length: 1, width: 1, datamatch: 1 }, h);
      const d2 = vm.addPostedWrite({ space: 'io', address: 0x200, length: 1, width: 1, datamatch: 2 }, h);
      expect(new Set([id, d1, d2]).size).toBe(3);
      vm.removePostedWrite(id);
      expect(() => vm.removePostedWrite(id)).toThrow(VmmError);
      // Removed: the address range is free again.
      vm.addPostedWrite({ space: 'io', address: 0x102, length: 2, width: 2 }, h);
    } finally {
      vm.destroy();
    }
  });

  it('rejects a ring size that is not a power of two', () => {
    expect(() => Vm.create({ backend, memorySize: 16 << 20, postedRingEntries: 3 })).toThrow(/power of two/);
  });
});

reportMissingBackends(missing, it.skip);
