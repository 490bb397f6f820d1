import { describe, expect, it } from 'vitest';
import { MmioBus } from '../../src/emulator/bus/mmio-bus.js';
import { PortBus } from '../../src/emulator/bus/port-bus.js';
import type { BusDevice } from '../../src/emulator/bus/range.js';
import { CollectingLogger } from '../../src/emulator/log.js';
import { RunControl } from '../../src/emulator/run-control.js';
import { handleExit, type ExitContext } from '../../src/emulator/vmexit.js';

function ctx(strictIo = false): ExitContext & { control: RunControl } {
  const log = new CollectingLogger();
  const mmio = new MmioBus(log);
  mmio.addFallback(0xc000_0000, 0x4000_0000);
  return { ports: new PortBus(log), mmio, control: new RunControl(), strictIo };
}

describe('VM exit table', () => {
  it('dispatches port I/O and returns IN values', () => {
    const c = ctx();
    const dev: BusDevice = { name: 'x', read: () => 0x42, write: () => {} };
    c.ports.register(0x510, 2, dev);
    expect(handleExit(c, { kind: 'inout', port: 0x510, size: 1, direction: 'in', value: 0 })).toEqual({ action: 'continue', value: 0x42 });
    expect(handleExit(c, { kind: 'inout', port: 0x80, size: 1, direction: 'out', value: 1 })).toEqual({ action: 'continue' });
  });

  it('stops with status 4 on an unclaimed port under x86.strictio', () => {
    const c = ctx(true);
    expect(handleExit(c, { kind: 'inout', port: 0x99, size: 2, direction: 'in', value: 0 })).toEqual({
      action: 'stop',
      status: 4,
      reason: 'Unhandled inw 0x0099',
    });
  });

  it('stops with the status a device requested during its access', () => {
    const c = ctx();
    c.ports.register(0xf4, 4, { name: 'isa-debug-exit', read: () => 0, write: (_o, _s, v) => c.control.exit(((v << 1) | 1) & 0xff, 'debug exit') });
    expect(handleExit(c, { kind: 'inout', port: 0xf4, size: 1, direction: 'out', value: 3 })).toEqual({ action: 'stop', status: 7, reason: 'debug exit' });
  });

  it('maps suspend reasons to bhyve exit statuses', () => {
    const c = ctx();
    const st = (how: string) => (handleExit(c, { kind: 'suspended', how }) as { status: number }).status;
    expect([st('reset'), st('poweroff'), st('halt'), st('triplefault'), st('weird')]).toEqual([0, 1, 2, 3, 100]);
    expect(handleExit(c, { kind: 'error', message: 'vm_run failed' })).toEqual({ action: 'stop', status: 4, reason: 'vm_run failed' });
    expect(handleExit(c, { kind: 'hlt' })).toEqual({ action: 'continue' });
  });

  it('reads all-ones from the PCI hole and stops on MMIO outside every range', () => {
    const c = ctx();
    expect(handleExit(c, { kind: 'mmio', gpa: 0xd000_0000, size: 4, direction: 'read', value: 0 })).toEqual({ action: 'continue', value: 0xffffffff });
    expect(handleExit(c, { kind: 'mmio', gpa: 0xd000_0000, size: 8, direction: 'read', value: 0 })).toEqual({ action: 'continue', value: 0xffffffffffffffffn });
    expect(handleExit(c, { kind: 'mmio', gpa: 0x5_0000_0000, size: 4, direction: 'write', value: 1 })).toMatchObject({ action: 'stop', status: 4 });
  });
});
