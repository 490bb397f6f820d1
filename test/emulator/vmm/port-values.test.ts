// Port read values (native/vmm/port_values.h) through the binding: argument checks and the
// per-VM limit. The LSR fast path that uses them is covered by test/emulator/lpc/uart and
// the Linux boot tests (the console runs through it).
import { describe, expect, it } from 'vitest';
import { availableBackends, reportMissingBackends } from './guest-harness.js';
import { Vm, VmmError } from '../../../src/emulator/vmm/vmm.js';

const { present, missing } = availableBackends();

describe.each(present)('port read values (%s)', (backend) => {
  it('accepts 0-255 or undefined, refuses other values and a ninth port', () => {
    const vm = Vm.create({ backend, memorySize: 16 << 20 });
    try {
      expect(() => vm.setPortReadValue(0x3fd, 256)).toThrow();
      expect(() => vm.setPortReadValue(0x10000, 0)).toThrow();
      for (let i = 0; i < 8; i++) vm.setPortReadValue(0x100 + i, i);
      vm.setPortReadValue(0x100, undefined); // withdrawn: the slot stays with its port
      vm.setPortReadValue(0x100, 0x60);
      expect(() => vm.setPortReadValue(0x200, 1)).toThrow(VmmError);
      vm.setPortReadValue(0x200, undefined); // withdrawing a port never published is a no-op
    } finally {
      vm.destroy();
    }
  });
});

reportMissingBackends(missing, it.skip);
