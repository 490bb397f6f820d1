// ACPI and reset verified by a guest (fixtures/guests/acpi): RSDP → XSDT/RSDT → FADT →
// DSDT, \_S5 parsed from AML, ACPI mode through SMI_CMD, then poweroff through PM1a_CNT
// or reset through 0xCF9. QEMU (reference) exits 0 on both with -no-reboot.
import { beforeAll, describe, expect, it } from 'vitest';
import { failures, guestElf, haveQemu, runQemu } from './rig.js';

let elf: string;
beforeAll(async () => {
  elf = await guestElf('acpi');
}, 120_000);

describe.runIf(haveQemu())('acpi guest on QEMU (reference)', () => {
  it('finds the tables and _S5', async () => {
    const r = await runQemu(elf, [], { append: 'action=info' });
    expect(failures(r.stdout)).toEqual([]);
    expect(r.stdout).toMatch(/TABLE FACP/);
    expect(r.stdout).toMatch(/TABLE APIC/);
    expect(r.status).toBe(1);
  });
  for (const action of ['poweroff', 'reset']) {
    it(`stops the machine (${action})`, async () => {
      const r = await runQemu(elf, [], { append: `action=${action}` });
      expect(failures(r.stdout)).toEqual([]);
      expect(r.stdout).not.toContain('SUMMARY');
      expect(r.status).toBe(0);
    });
  }
});
