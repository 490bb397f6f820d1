/**
 * The exit bridge (src/emulator/run/exit-bridge.ts) over a real Machine's exit table with
 * real buses: vmm exit objects in, the answer written back in place, stops recorded.
 */
import { describe, expect, it } from 'vitest';
import { MmioBus } from '../../../src/emulator/bus/mmio-bus.js';
import { PortBus } from '../../../src/emulator/bus/port-bus.js';
import { CollectingLogger } from '../../../src/emulator/log.js';
import { RunControl } from '../../../src/emulator/run-control.js';
import { ExitBridge } from '../../../src/emulator/run/exit-bridge.js';
import { handleExit, type ExitContext } from '../../../src/emulator/vmexit.js';
import { HltExit, InoutExit, MmioExit, RdmsrExit, WrmsrExit } from '../../../src/emulator/vmm/exits.js';

function rig(strictMsr = true) {
  const log = new CollectingLogger();
  const ctx: ExitContext = { ports: new PortBus(log), mmio: new MmioBus(log), control: new RunControl(), strictIo: false };
  const bridge = new ExitBridge({ handleExit: (e) => handleExit(ctx, e) }, strictMsr);
  return { ctx, bridge };
}

describe('ExitBridge', () => {
  it('answers an IN from the device, and all-ones for an unclaimed port', () => {
    const { ctx, bridge } = rig();
    ctx.ports.register(0x70, 2, { name: 'cmos', read: () => 0x5a, write: () => {} });
    const io = new InoutExit();
    io.in = true;
    io.port = 0x70;
    io.size = 1;
    expect(bridge.handle(io)).toBeUndefined();
    expect(io.value).toBe(0x5a);
    io.port = 0x1234;
    io.size = 4;
    bridge.handle(io);
    expect(io.value).toBe(0xffffffff);
  });

  it('carries 8-byte MMIO accesses as two dwords, both halves of the value', () => {
    const { ctx, bridge } = rig();
    const regs = new Uint32Array(4);
    ctx.mmio.register(0xd000_0000, 16, {
      name: 'scratch',
      read: (o) => regs[o >> 2]!,
      write: (o, _s, v) => {
        regs[o >> 2] = v;
      },
    });
    const m = new MmioExit();
    m.gpa = 0xd000_0008;
    m.size = 8;
    m.write = true;
    m.value = 0x5566_7788;
    m.valueHigh = 0x1122_3344;
    bridge.handle(m);
    expect([...regs]).toEqual([0, 0, 0x5566_7788, 0x1122_3344]);
    m.write = false;
    m.value = 0;
    m.valueHigh = 0;
    bridge.handle(m);
    expect([m.value, m.valueHigh]).toEqual([0x5566_7788, 0x1122_3344]);
  });

  it('stops with the status a device asked for (pc-testdev 0x21 → 67)', () => {
    const { ctx, bridge } = rig();
    ctx.ports.register(0xf4, 4, { name: 'debug-exit', read: () => 0, write: (_o, _s, v) => ctx.control.exit(((v << 1) | 1) & 0xff, 'debug-exit') });
    const io = new InoutExit();
    io.port = 0xf4;
    io.size = 1;
    io.value = 0x21;
    expect(bridge.handle(io)).toBe('stop');
    expect(bridge.stopped).toEqual({ status: 67, reason: 'debug-exit' });
  });

  it('an idle exit after a stop request ends the run too', () => {
    const { ctx, bridge } = rig();
    ctx.control.suspend('poweroff');
    expect(bridge.handle(new HltExit())).toBe('stop');
    expect(bridge.stopped?.status).toBe(1);
  });

  it('x86.strictmsr: #GP by default, reads 0 and accepts writes when false', () => {
    const strict = rig(true).bridge;
    const r = new RdmsrExit();
    strict.handle(r);
    expect(r.ok).toBe(false);
    const lax = rig(false).bridge;
    r.value = 5n;
    lax.handle(r);
    expect([r.ok, r.value]).toEqual([true, 0n]);
    const w = new WrmsrExit();
    lax.handle(w);
    expect(w.ok).toBe(true);
  });
});
