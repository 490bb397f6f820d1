import { describe, expect, it } from 'vitest';
import { Virtqueue, VirtqueueError, gatherReadable, scatterWritable, splitSegments, type VirtqueueErrorKind } from '../../../src/emulator/virtio/queue.js';
import * as V from '../../../src/emulator/virtio/regs.js';
import { makeMemory, RingDriver } from './driver.js';

function setup(size = 8, opts = { indirect: true, eventIdx: false }) {
  const mem = makeMemory(1 << 20);
  const q = new Virtqueue(0, size);
  q.setLegacyPfn(0x10);
  q.activate(mem, opts);
  q.validateRings();
  const d = RingDriver.legacy(mem, size, 0x10000);
  return { mem, q, d };
}

function popError(q: Virtqueue): VirtqueueErrorKind {
  try {
    q.pop();
  } catch (e) {
    if (e instanceof VirtqueueError) return e.kind;
    throw e;
  }
  throw new Error('pop did not fail');
}

describe('split virtqueue', () => {
  it('pops chains in order with readable then writable segments and returns them used', () => {
    const { q, d, mem } = setup();
    d.post([{ addr: 0x20000, len: 16 }, { addr: 0x21000, len: 512, write: true }, { addr: 0x22000, len: 1, write: true }]);
    d.post([{ addr: 0x23000, len: 8 }]);
    const c = q.pop()!;
    expect(c.head).toBe(0);
    expect(c.readable).toEqual([{ addr: 0x20000, len: 16 }]);
    expect(c.writable).toEqual([{ addr: 0x21000, len: 512 }, { addr: 0x22000, len: 1 }]);
    expect([c.readableLen, c.writableLen]).toEqual([16, 513]);
    expect(q.pop()!.head).toBe(3);
    expect(q.pop()).toBeUndefined();
    q.push(0, 513);
    q.push(3, 0);
    expect(d.takeUsed()).toEqual([{ id: 0, len: 513 }, { id: 3, len: 0 }]);
    expect(q.shouldInterrupt()).toBe(true);
    mem.write16(d.avail, V.VRING_AVAIL_F_NO_INTERRUPT);
    expect(q.shouldInterrupt()).toBe(false);
  });

  it('follows indirect tables', () => {
    const { q, d, mem } = setup();
    const table = 0x30000;
    const w = (i: number, addr: number, len: number, flags: number, next: number) => {
      mem.write64(table + 16 * i, BigInt(addr));
      mem.write32(table + 16 * i + 8, len);
      mem.write16(table + 16 * i + 12, flags);
      mem.write16(table + 16 * i + 14, next);
    };
    w(0, 0x40000, 16, V.VRING_DESC_F_NEXT, 2);
    w(2, 0x41000, 100, V.VRING_DESC_F_WRITE, 0);
    d.writeDesc(5, table, 48, V.VRING_DESC_F_INDIRECT, 0);
    d.publish(5);
    const c = q.pop()!;
    expect(c.head).toBe(5);
    expect(c.readable).toEqual([{ addr: 0x40000, len: 16 }]);
    expect(c.writable).toEqual([{ addr: 0x41000, len: 100 }]);
  });

  // Each case corrupts the ring its own way; the queue must refuse, never read out of bounds.
  const hostile: Array<[string, VirtqueueErrorKind, (s: ReturnType<typeof setup>) => void]> = [
    ['avail index jumping past the ring', 'avail-index', ({ mem, d }) => mem.write16(d.avail + 2, 9)],
    ['head out of range', 'head-index', ({ d }) => d.publish(8)],
    ['buffer outside guest memory', 'bad-address', ({ d }) => { d.writeDesc(0, 0xfff00, 0x200, 0, 0); d.publish(0); }],
    ['buffer address beyond 2^53', 'bad-address', ({ mem, d }) => { d.writeDesc(0, 0, 16, 0, 0); mem.write64(d.desc, 0xffff_ffff_ffff_f000n); d.publish(0); }],
    ['buffer wrapping a 64-bit address', 'bad-address', ({ mem, d }) => { d.writeDesc(0, 0, 0x2000, 0, 0); mem.write64(d.desc, 0xffff_ffff_ffff_ff00n); d.publish(0); }],
    ['next index out of range', 'next-index', ({ d }) => { d.writeDesc(0, 0x20000, 16, V.VRING_DESC_F_NEXT, 200); d.publish(0); }],
    ['descriptor loop', 'loop', ({ d }) => { d.writeDesc(0, 0x20000, 16, V.VRING_DESC_F_NEXT, 1); d.writeDesc(1, 0x20000, 16, V.VRING_DESC_F_NEXT, 0); d.publish(0); }],
    ['self loop', 'loop', ({ d }) => { d.writeDesc(3, 0x20000, 16, V.VRING_DESC_F_NEXT, 3); d.publish(3); }],
    ['readable after writable', 'order', ({ d }) => { d.writeDesc(0, 0x20000, 16, V.VRING_DESC_F_WRITE | V.VRING_DESC_F_NEXT, 1); d.writeDesc(1, 0x21000, 16, 0, 0); d.publish(0); }],
    ['indirect with NEXT', 'indirect-next', ({ d }) => { d.writeDesc(0, 0x30000, 32, V.VRING_DESC_F_INDIRECT | V.VRING_DESC_F_NEXT, 1); d.publish(0); }],
    ['indirect length not a multiple of 16', 'indirect-length', ({ d }) => { d.writeDesc(0, 0x30000, 20, V.VRING_DESC_F_INDIRECT, 0); d.publish(0); }],
    ['indirect length zero', 'indirect-length', ({ d }) => { d.writeDesc(0, 0x30000, 0, V.VRING_DESC_F_INDIRECT, 0); d.publish(0); }],
    ['indirect table outside memory', 'bad-address', ({ d }) => { d.writeDesc(0, 0xffff0, 64, V.VRING_DESC_F_INDIRECT, 0); d.publish(0); }],
    ['indirect table too long', 'too-long', ({ d }) => { d.writeDesc(0, 0x30000, 16 * 1024, V.VRING_DESC_F_INDIRECT, 0); d.publish(0); }],
    [
      'nested indirect',
      'nested-indirect',
      ({ mem, d }) => {
        mem.write64(0x30000, 0x31000n);
        mem.write32(0x30008, 16);
        mem.write16(0x3000c, V.VRING_DESC_F_INDIRECT);
        d.writeDesc(0, 0x30000, 16, V.VRING_DESC_F_INDIRECT, 0);
        d.publish(0);
      },
    ],
    [
      'loop inside an indirect table',
      'loop',
      ({ mem, d }) => {
        for (let i = 0; i < 4; i++) {
          mem.write64(0x30000 + 16 * i, 0x20000n);
          mem.write32(0x30008 + 16 * i, 8);
          mem.write16(0x3000c + 16 * i, V.VRING_DESC_F_NEXT);
          mem.write16(0x3000e + 16 * i, (i + 1) % 4);
        }
        d.writeDesc(0, 0x30000, 64, V.VRING_DESC_F_INDIRECT, 0);
        d.publish(0);
      },
    ],
  ];
  for (const [what, kind, corrupt] of hostile) {
    it(`refuses ${what}`, () => {
      const s = setup();
      corrupt(s);
      expect(popError(s.q)).toBe(kind);
    });
  }

  it('refuses indirect descriptors that were not negotiated', () => {
    const s = setup(8, { indirect: false, eventIdx: false });
    s.d.writeDesc(0, 0x30000, 32, V.VRING_DESC_F_INDIRECT, 0);
    s.d.publish(0);
    expect(popError(s.q)).toBe('indirect-not-negotiated');
  });

  it('refuses chains longer than 512 descriptors even in a large ring', () => {
    const mem = makeMemory(1 << 22);
    const q = new Virtqueue(0, 1024);
    q.setLegacyPfn(0x100);
    q.activate(mem, { indirect: true, eventIdx: false });
    const d = RingDriver.legacy(mem, 1024, 0x100000);
    for (let i = 0; i < 600; i++) d.writeDesc(i, 0x300000, 1, V.VRING_DESC_F_NEXT, i + 1);
    d.writeDesc(600, 0x300000, 1, 0, 0);
    d.publish(0);
    expect(popError(q)).toBe('too-long');
  });

  it('validates the rings themselves on activation', () => {
    const mem = makeMemory(1 << 16);
    const q = new Virtqueue(0, 256);
    q.setLegacyPfn(0xf); // rings run past the end of 64 KiB
    q.activate(mem, { indirect: false, eventIdx: false });
    expect(() => q.validateRings()).toThrow(VirtqueueError);
  });

  it('honours used_event with EVENT_IDX', () => {
    const { q, d, mem } = setup(8, { indirect: false, eventIdx: true });
    for (let i = 0; i < 3; i++) d.post([{ addr: 0x20000, len: 4 }]);
    for (let i = 0; i < 3; i++) q.push(q.pop()!.head, 0);
    mem.write16(d.avail + 4 + 2 * 8, 5); // used_event: interrupt after entry 5
    expect(q.shouldInterrupt()).toBe(true); // first signal always
    d.post([{ addr: 0x20000, len: 4 }]);
    q.push(q.pop()!.head, 0);
    expect(q.shouldInterrupt()).toBe(false);
    for (let i = 0; i < 2; i++) {
      d.post([{ addr: 0x20000, len: 4 }]);
      q.push(q.pop()!.head, 0);
    }
    expect(q.shouldInterrupt()).toBe(true);
    expect(mem.read16(d.used + 4 + 8 * 8)).toBe(6); // avail_event written by the device
  });

  it('gathers and scatters across segments and splits segment lists', () => {
    const { q, d, mem } = setup();
    mem.writeBytes(0x20000, Uint8Array.of(1, 2, 3));
    mem.writeBytes(0x21000, Uint8Array.of(4, 5));
    d.post([{ addr: 0x20000, len: 3 }, { addr: 0x21000, len: 2 }, { addr: 0x22000, len: 2, write: true }, { addr: 0x23000, len: 4, write: true }]);
    const c = q.pop()!;
    expect([...gatherReadable(mem, c, 2)]).toEqual([3, 4, 5]);
    expect(scatterWritable(mem, c, Uint8Array.of(9, 8, 7, 6, 5, 4, 3), 1)).toBe(5);
    expect([...mem.readBytes(0x22000, 2)]).toEqual([0, 9]);
    expect([...mem.readBytes(0x23000, 4)]).toEqual([8, 7, 6, 5]);
    expect(splitSegments(c.writable, 3)).toEqual([
      [{ addr: 0x22000, len: 2 }, { addr: 0x23000, len: 1 }],
      [{ addr: 0x23001, len: 3 }],
    ]);
  });
});
