// The framebuffer as a vmm memory segment (bhyve's VM_FRAMEBUFFER): mapped at BAR1 when the
// BAR decodes, moved with the BAR, and — where the vmm refuses a change (the soft CPU while
// a vCPU runs) — served by BAR1 exits from the same bytes, with one warning.
import { describe, expect, it } from 'vitest';
import { FbufDevice } from '../../../src/emulator/fbuf/device.js';
import { FB_SIZE, FBUF_BAR_FB } from '../../../src/emulator/fbuf/regs.js';
import { CollectingLogger } from '../../../src/emulator/log.js';
import type { DeviceSegment } from '../../../src/emulator/memory/device-memory.js';
import { pciWorld } from '../pci/helpers.js';

function fakeSegment() {
  const calls: string[] = [];
  const seg = {
    refuse: false as boolean,
    memory: new Uint8Array(FB_SIZE),
    map(gpa: number) {
      if (seg.refuse) throw new Error('refused');
      calls.push(`map ${gpa.toString(16)}`);
    },
    unmap(gpa: number) {
      if (seg.refuse) throw new Error('refused');
      calls.push(`unmap ${gpa.toString(16)}`);
    },
  } satisfies DeviceSegment & { refuse: boolean };
  return { seg, calls };
}

function setup() {
  const w = pciWorld();
  const fn = w.host.createFunction(0, 9, 0, 'fbuf');
  const { seg, calls } = fakeSegment();
  const log = new CollectingLogger();
  const dev = new FbufDevice(fn, 800, 600, undefined, seg, log);
  w.host.assignResources();
  return { w, fn, dev, seg, calls, log };
}

describe('fbuf framebuffer segment', () => {
  it('is mapped at BAR1 once resources are assigned, and its bytes are the display', () => {
    const { fn, dev, seg, calls } = setup();
    const bar = fn.bars[FBUF_BAR_FB]!.addr;
    expect(calls).toEqual([`map ${bar.toString(16)}`]);
    expect(dev.segmentAt).toBe(bar);
    seg.memory[4] = 0x7f;
    expect(dev.pixels[4]).toBe(0x7f);
    expect(dev.barRead(FBUF_BAR_FB, 4, 1)).toBe(0x7f);
  });

  it('follows memory decoding and BAR moves', () => {
    const { w, fn, dev, calls } = setup();
    const bar = fn.bars[FBUF_BAR_FB]!.addr;
    calls.length = 0;
    const cmd = w.cfgRead(0, 9, 0, 4, 2);
    w.cfgWrite(0, 9, 0, 4, cmd & ~2, 2);
    expect(calls).toEqual([`unmap ${bar.toString(16)}`]);
    expect(dev.segmentAt).toBe(0);
    const moved = bar + FB_SIZE * 2;
    w.cfgWrite(0, 9, 0, 0x14, moved);
    w.cfgWrite(0, 9, 0, 4, cmd, 2);
    expect(calls).toEqual([`unmap ${bar.toString(16)}`, `map ${moved.toString(16)}`]);
    expect(dev.segmentAt).toBe(moved);
  });

  it('falls back to exits on the same bytes when the vmm refuses, and warns once', () => {
    const { w, fn, dev, seg, log } = setup();
    const bar = fn.bars[FBUF_BAR_FB]!.addr;
    seg.refuse = true;
    const cmd = w.cfgRead(0, 9, 0, 4, 2);
    w.cfgWrite(0, 9, 0, 4, cmd & ~2, 2);
    expect(dev.segmentAt).toBe(bar); // the vmm kept it
    w.cfgWrite(0, 9, 0, 4, cmd, 2);
    expect(dev.segmentAt).toBe(bar); // back where it already is: nothing to do
    w.cfgWrite(0, 9, 0, 4, cmd & ~2, 2);
    w.cfgWrite(0, 9, 0, 0x14, bar + FB_SIZE * 2);
    w.cfgWrite(0, 9, 0, 4, cmd, 2);
    expect(dev.mappedAt).toBe(bar + FB_SIZE * 2);
    dev.barWrite(FBUF_BAR_FB, 8, 4, 0x11223344);
    expect(seg.memory[8]).toBe(0x44);
    expect(log.messages.filter((m) => m.startsWith('fbuf:')).length).toBe(1);
  });
});
