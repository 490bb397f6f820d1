// BarPostedWrite keeps a device's notify window registered at its BAR's current address:
// registered when the BAR decodes, moved with it, dropped when it stops decoding; a refusal
// by the vmm leaves the window on the normal exit path. (Unit level: a recording stand-in
// for the vmm's registry; the end-to-end path is test/emulator/vmm/posted.test.ts and the
// device guests.)
import { describe, expect, it } from 'vitest';
import type { PciFunction } from '../../../src/emulator/pci/function.js';
import { BarPostedWrite, type PostedWriteWindow, type PostedWrites } from '../../../src/emulator/pci/posted-writes.js';

function fakes(type: 'io' | 'mem64' = 'mem64') {
  const live = new Map<number, { window: PostedWriteWindow; handler: (o: number, v: number, h: number) => void }>();
  let next = 1;
  let refuse = false;
  const registry: PostedWrites = {
    add(window, handler) {
      if (refuse) throw new Error('refused');
      const id = next++;
      live.set(id, { window, handler });
      return id;
    },
    remove(id) {
      if (!live.delete(id)) throw new Error(`no range ${id}`);
    },
  };
  const bars = [{ type, addr: 0, size: 0x4000, lobits: 0 }];
  const pci = { host: { postedWrites: registry }, bars } as unknown as PciFunction;
  return { pci, live, setRefuse: (r: boolean) => (refuse = r) };
}

describe('BarPostedWrite', () => {
  it('follows the BAR: map, move, unmap', () => {
    const { pci, live } = fakes();
    const got: Array<[number, number]> = [];
    const w = new BarPostedWrite(pci, 0, 0x3000, 8, 2, (off, v) => got.push([off, v]));
    w.barMapped(1, true, 0xc000_0000); // another BAR: ignored
    expect(live.size).toBe(0);
    w.barMapped(0, true, 0xc000_0000);
    expect([...live.values()].map((e) => e.window)).toEqual([{ space: 'mmio', address: 0xc000_3000, length: 8, width: 2 }]);
    [...live.values()][0]!.handler(4, 1, 0);
    expect(got).toEqual([[4, 1]]);
    w.barMapped(0, false, 0xc000_0000);
    w.barMapped(0, true, 0xd000_0000); // the guest moved the BAR
    expect([...live.values()].map((e) => e.window.address)).toEqual([0xd000_3000]);
    expect(w.registered).toBe(true);
    w.barMapped(0, false, 0xd000_0000);
    expect(live.size).toBe(0);
    expect(w.registered).toBe(false);
  });

  it('uses port space for an I/O BAR and never registers twice', () => {
    const { pci, live } = fakes('io');
    const w = new BarPostedWrite(pci, 0, 0x10, 2, 2, () => {});
    w.barMapped(0, true, 0x2000);
    w.barMapped(0, true, 0x2000);
    expect([...live.values()].map((e) => e.window)).toEqual([{ space: 'io', address: 0x2010, length: 2, width: 2 }]);
  });

  it('stays on the exit path when the vmm refuses the range', () => {
    const { pci, live, setRefuse } = fakes();
    setRefuse(true);
    const w = new BarPostedWrite(pci, 0, 0x1000, 16, 4, () => {});
    w.barMapped(0, true, 0xe000_0000);
    expect(w.registered).toBe(false);
    expect(w.refused).toBe('refused');
    expect(live.size).toBe(0);
    setRefuse(false);
    w.barMapped(0, true, 0xe000_0000);
    expect(w.registered).toBe(true);
  });

  it('does nothing without a vmm registry', () => {
    const pci = { host: {}, bars: [{ type: 'mem32', addr: 0, size: 0x1000, lobits: 0 }] } as unknown as PciFunction;
    const w = new BarPostedWrite(pci, 0, 0, 4, 4, () => {});
    w.barMapped(0, true, 0x1000);
    expect(w.registered).toBe(false);
  });
});
