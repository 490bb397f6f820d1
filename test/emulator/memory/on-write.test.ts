/**
 * GuestMemory's write reporting (src/emulator/memory/guest-memory.ts `onWrite`/`written`):
 * what the soft CPU relies on to drop code it decoded from bytes a device wrote.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../../src/emulator/memory/guest-memory.js';
import { scatterWritable } from '../../../src/emulator/virtio/queue.js';

describe('GuestMemory write reporting', () => {
  it('reports every writer and written(), never a range outside RAM', () => {
    const mem = new GuestMemory(new ArrayBuffer(0x10000));
    const seen: string[] = [];
    mem.onWrite = (gpa, len) => seen.push(`${gpa.toString(16)}+${len}`);
    mem.write8(0x10, 1);
    mem.write16(0x20, 1);
    mem.write32(0x30, 1);
    mem.write64(0x40, 1n);
    mem.writeBytes(0x100, new Uint8Array(3));
    mem.fill(0x200, 16);
    mem.written(0x300, 64);
    mem.written(0xfff0, 0x20); // beyond RAM: not reported
    mem.written(0x400, 0);
    expect(seen).toEqual(['10+1', '20+2', '30+4', '40+8', '100+3', '200+16', '300+64']);
    expect(() => mem.write32(0x10000, 1)).toThrow();
    expect(seen).toHaveLength(7);
  });

  it('a virtqueue scatter reports each segment it filled', () => {
    const mem = new GuestMemory(new ArrayBuffer(0x10000));
    const seen: Array<[number, number]> = [];
    mem.onWrite = (gpa, len) => seen.push([gpa, len]);
    const chain = { writable: [{ addr: 0x1000, len: 4 }, { addr: 0x2000, len: 8 }] } as never;
    expect(scatterWritable(mem, chain, new Uint8Array(10))).toBe(10);
    expect(seen).toEqual([[0x1000, 4], [0x2000, 6]]);
  });
});
