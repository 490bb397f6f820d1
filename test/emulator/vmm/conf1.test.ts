// The vmm's PCI CONFIG_ADDRESS latch (native/vmm/pci_conf1.h) with the emulator's real PCI
// host (src/emulator/pci/host.ts) behind the exits, on every backend present: the guest
// fixtures/guests/vmm/conf1 drives mechanism #1 (masking, narrow accesses, string I/O,
// data reads and writes at the latched address). With the latch on and off the guest gets
// the same answers; with it on, 32-bit non-string accesses of 0xCF8 never exit and a
// configuration read costs one exit (the data port) instead of two. (The soft CPU reports
// OUTS elements as plain OUTs, so there REP OUTSD to 0xCF8 is latched in the vmm too: the
// emulator treats both alike.)
import { describe, expect, it } from 'vitest';
import { availableBackends, failures, reportMissingBackends, runGuest } from './guest-harness.js';
import { ConfigTree } from '../../../src/emulator/config/tree.js';
import { HostBridge } from '../../../src/emulator/pci/hostbridge.js';
import { Vm, type VmExit } from '../../../src/emulator/vmm/vmm.js';
import { pciWorld } from '../pci/helpers.js';

const { present, missing } = availableBackends();

async function run(backend: 'kvm' | 'soft', latch: boolean) {
  let vmRef: Vm | undefined;
  // The host reads and writes the address through the vmm only when the latch is on.
  const w = pciWorld(latch ? { conf1Latch: { address: () => vmRef!.pciConf1Address(), setAddress: (v) => vmRef!.setPciConf1Address(v) } } : {});
  new HostBridge(w.host.createFunction(0, 0, 0, 'hostbridge'), new ConfigTree().createNode('pci.0.0.0'));
  w.host.assignResources();
  const exits: string[] = [];
  const r = await runGuest('conf1', {
    backend,
    setup: (vm) => {
      vmRef = vm;
      if (latch) vm.setPciConf1Latch(true);
    },
    onExit: (exit: VmExit) => {
      if (exit.kind !== 'inout' || exit.port < 0xcf8 || exit.port > 0xcff) return false;
      exits.push(`${exit.in ? 'in' : 'out'}${exit.size * 8} ${exit.port.toString(16)}${exit.string ? ' string' : ''}`);
      if (exit.in) exit.value = w.ports.read(exit.port, exit.size);
      else w.ports.write(exit.port, exit.size, exit.value);
      return true;
    },
  });
  return { r, exits };
}

describe.each(present)('PCI CONFIG_ADDRESS latch in the vmm (%s)', (backend) => {
  it('answers dword accesses of 0xCF8 in the vmm, with the same guest-visible behaviour', async () => {
    const off = await run(backend, false);
    expect(off.r.timedOut).toBe(false);
    expect(failures(off.r.serial), off.r.serial).toEqual([]);
    expect(off.r.status).toBe(1);
    const on = await run(backend, true);
    expect(on.r.timedOut).toBe(false);
    expect(failures(on.r.serial), on.r.serial).toEqual([]);
    expect(on.r.status).toBe(1);
    expect(on.r.serial).toBe(off.r.serial);

    // Without the latch every dword access of 0xCF8 exits (15 plain ones; the two elements
    // of REP OUTSD are plain or string exits depending on the backend); with it only string
    // elements may (the vmm leaves string I/O to the emulator).
    const dwordCf8 = (xs: string[]) => xs.filter((x) => /^(in|out)32 cf8$/.test(x)).length;
    expect(dwordCf8(off.exits) + off.exits.filter((x) => x === 'out32 cf8 string').length).toBe(17);
    expect(dwordCf8(on.exits)).toBe(0);
    // Everything else in the block still exits, the same accesses both ways.
    const rest = (xs: string[]) => xs.filter((x) => !/^(in|out)32 cf8$/.test(x));
    expect(rest(on.exits)).toEqual(rest(off.exits));
    expect(rest(on.exits)).toEqual(expect.arrayContaining(['out8 cf8', 'out16 cf8', 'out8 cfa', 'in16 cf8', 'in8 cf8', 'in32 cfc', 'in8 cfe', 'out8 cfc']));
  }, 180_000);

  it('masks the latch on both paths and starts disabled', () => {
    const vm = Vm.create({ backend, memorySize: 16 << 20 });
    try {
      expect(vm.pciConf1Address()).toBe(0);
      vm.setPciConf1Address(0xffffffff);
      expect(vm.pciConf1Address()).toBe(0x80fffffc);
    } finally {
      vm.destroy();
    }
  });
});

reportMissingBackends(missing, it.skip);
