// ACPI and reset verified by a guest (fixtures/guests/acpi): RSDP → XSDT/RSDT → FADT →
// DSDT, \_S5 parsed from the AML, ACPI mode through SMI_CMD, then poweroff through
// PM1a_CNT (tsbhyve exits 1), reset through 0xCF9 or the FADT reset register (exit 0),
// and S3 (SLP_TYP 1): sleep at the PM1 write, RTC-alarm wake into the FACS waking vector.
// QEMU (reference, -no-reboot) exits 0 on all of them and has no FADT reset register.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failures, guestElf, haveQemu, removeBuild, runQemu, runTsbhyve } from './rig.js';

let elf: string;
beforeAll(async () => {
  elf = await guestElf('acpi');
}, 120_000);
afterAll(() => removeBuild());

describe('acpi guest on tsbhyve', () => {
  it('finds bhyve\'s tables, their checksums and _S5 (SLP_TYP 5)', async () => {
    const r = await runTsbhyve(elf, [], { append: 'action=info' });
    expect(failures(r.stdout)).toEqual([]);
    for (const t of ['FACP', 'APIC', 'HPET', 'MCFG']) expect(r.stdout).toContain(`TABLE ${t} `);
    expect(r.stdout).toContain('_S5 SLP_TYPa 5\n');
    expect(r.stdout).toMatch(/RSDP at [0-9a-f]+ revision 2 OEM BHYVE/);
    expect(r.status).toBe(1);
  }, 60_000);
  it('s3: stops at the PM1 write, wakes on the RTC alarm in real mode at the FACS waking vector', async () => {
    const t0 = Date.now();
    const r = await runTsbhyve(elf, [], { append: 'action=s3', timeoutMs: 30_000 });
    expect(failures(r.stdout)).toEqual([]);
    expect(r.stdout).toContain('sleeping\n');
    expect(r.stdout).not.toContain('SUMMARY');
    // 1 = (0 << 1) | 1: WAK_STS|RTC_STS set and nothing ran after the sleep request.
    expect(r.status, r.stderr).toBe(1);
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 60_000);
  for (const [action, status] of [['poweroff', 1], ['reset', 0], ['fadt-reset', 0]] as const) {
    it(`${action} stops tsbhyve with exit status ${status}`, async () => {
      const r = await runTsbhyve(elf, [], { append: `action=${action}` });
      expect(failures(r.stdout)).toEqual([]);
      expect(r.stdout).not.toContain('SUMMARY');
      expect(r.status).toBe(status);
    }, 60_000);
  }
});

describe.runIf(haveQemu())('acpi guest on QEMU TCG (reference)', () => {
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
