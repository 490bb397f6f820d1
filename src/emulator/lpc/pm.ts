/**
 * ACPI fixed hardware of the platform (bhyve amd64/pm.c; bhyve-userland.md §3, §5.3):
 * PM1a event block 0x400 (PM1_STS, PM1_EN; 16-bit only), PM1a control 0x404 (16-bit
 * only), GPE0 block 0x40C/0x40D (byte only), SMI_CMD 0xB2 (byte writes: 0xA0 enables
 * ACPI, 0xA1 disables), and the SCI (ISA IRQ 9, level) asserted while any enabled status
 * bit or enabled GPE is set. The PM timer (0x408) lives in the vmm.
 *
 * - Poweroff: a PM1 control write with SLP_EN and SLP_TYP = 5 (the DSDT's _S5) suspends
 *   the VM with "poweroff" (exit 1).
 * - S3: SLP_EN with SLP_TYP = 1 (QEMU's _S3 encoding, which kvm-unit-tests' s3 writes; our
 *   DSDT does not declare _S3, so ACPI-driven OSes never ask) asks RunControl.sleep(): the
 *   vCPUs stop at that OUT (run/acpi-sleep.ts). wake() then sets WAK_STS and the wake
 *   source's status bit (RTC_STS when RTC_EN is enabled, or PWRBTN_STS, which always
 *   wakes). When the VM cannot sleep, the sleep handler logs why and the request is ignored,
 *   as other sleep types are.
 * - Power button: pressPowerButton() sets PWRBTN_STS (and the SCI when enabled); tsbhyve
 *   calls it on SIGTERM once the guest enabled ACPI (acpiEnabled), as bhyve does.
 * Accesses of the wrong width are refused (treated as unclaimed).
 */
import type { BusDevice } from '../bus/range.js';
import type { InterruptLine } from '../irq/lines.js';
import type { RunControl } from '../run-control.js';

export const PM1A_EVT_ADDR = 0x400;
export const PM1A_CNT_ADDR = 0x404;
export const IO_PMTMR = 0x408;
export const IO_GPE0_BLK = 0x40c;
export const IO_GPE0_LEN = 2;
export const SMI_CMD = 0xb2;
export const BHYVE_ACPI_ENABLE = 0xa0;
export const BHYVE_ACPI_DISABLE = 0xa1;
export const SCI_INT = 9;
export const GPE_VMGENC = 0;

export const PM1_TMR_STS = 0x0001;
export const PM1_BM_STS = 0x0010;
export const PM1_GBL_STS = 0x0020;
export const PM1_PWRBTN_STS = 0x0100;
export const PM1_SLPBTN_STS = 0x0200;
export const PM1_RTC_STS = 0x0400;
export const PM1_WAK_STS = 0x8000;
export const PM1_TMR_EN = 0x0001;
export const PM1_GBL_EN = 0x0020;
export const PM1_PWRBTN_EN = 0x0100;
export const PM1_SLPBTN_EN = 0x0200;
export const PM1_RTC_EN = 0x0400;
export const PM1_SCI_EN = 0x0001;
export const PM1_SLP_TYP = 0x1c00;
export const PM1_SLP_EN = 0x2000;
export const PM1_ALWAYS_ZERO = 0xc003;
const GPE0_VALID = 1 << GPE_VMGENC;

/** SLP_TYP of S3 (QEMU's DSDT _S3 package; kvm-unit-tests s3 writes it). */
export const SLP_TYP_S3 = 1;

/** What ends an S3 sleep. */
export type WakeSource = 'rtc' | 'pwrbtn';

export class AcpiPm {
  private pm1Status = 0;
  private pm1Enable = 0;
  private pm1Control = 0;
  private gpe0Active = 0;
  private gpe0Enabled = 0;
  private sciActive = false;

  constructor(
    private readonly sci: InterruptLine,
    private readonly control: RunControl,
  ) {}

  /** Whether the guest switched to ACPI mode (SMI_CMD ← 0xA0). */
  get acpiEnabled(): boolean {
    return (this.pm1Control & PM1_SCI_EN) !== 0;
  }

  private sciUpdate(): void {
    const s = this.pm1Status;
    const e = this.pm1Enable;
    const need =
      (e & PM1_TMR_EN && s & PM1_TMR_STS) ||
      (e & PM1_GBL_EN && s & PM1_GBL_STS) ||
      (e & PM1_PWRBTN_EN && s & PM1_PWRBTN_STS) ||
      (e & PM1_SLPBTN_EN && s & PM1_SLPBTN_STS) ||
      (e & PM1_RTC_EN && s & PM1_RTC_STS) ||
      (this.gpe0Enabled & this.gpe0Active) !== 0;
    if (need && !this.sciActive) {
      this.sciActive = true;
      this.sci.assert();
    } else if (!need && this.sciActive) {
      this.sciActive = false;
      this.sci.deassert();
    }
  }

  /** SIGTERM's power-button press. */
  pressPowerButton(): void {
    if (this.pm1Status & PM1_PWRBTN_STS) return;
    this.pm1Status |= PM1_PWRBTN_STS;
    this.sciUpdate();
  }

  /** Whether an RTC alarm wakes the sleeping VM (PM1_EN.RTC_EN). */
  get rtcWakeEnabled(): boolean {
    return (this.pm1Enable & PM1_RTC_EN) !== 0;
  }

  /** Whether the power button was pressed (PWRBTN_STS), which wakes from S3. */
  get powerButtonPending(): boolean {
    return (this.pm1Status & PM1_PWRBTN_STS) !== 0;
  }

  /** The platform woke from S3: WAK_STS and the source's status bit (ACPI 6.4, 4.8.3.1). */
  wake(source: WakeSource): void {
    this.pm1Status |= PM1_WAK_STS | (source === 'rtc' ? PM1_RTC_STS : PM1_PWRBTN_STS);
    this.sciUpdate();
  }

  /** acpi_raise_gpe (VM generation counter). */
  raiseGpe(bit: number): void {
    const mask = 1 << bit;
    if ((mask & ~GPE0_VALID) !== 0) throw new RangeError(`GPE ${bit} is not implemented`);
    this.gpe0Active |= mask;
    this.sciUpdate();
  }

  /** 0x400-0x403: PM1_STS at 0, PM1_EN at 2. */
  readonly eventBlock: BusDevice = {
    name: 'acpi-pm1a-evt',
    accepts: (offset, size) => size === 2 && (offset === 0 || offset === 2),
    read: (offset) => (offset === 0 ? this.pm1Status : this.pm1Enable),
    write: (offset, _size, value) => {
      if (offset === 0) {
        this.pm1Status &= ~(value & (PM1_WAK_STS | PM1_RTC_STS | PM1_SLPBTN_STS | PM1_PWRBTN_STS | PM1_BM_STS));
      } else {
        this.pm1Enable = value & (PM1_RTC_EN | PM1_PWRBTN_EN | PM1_GBL_EN);
      }
      this.sciUpdate();
    },
  };

  /** 0x404-0x405: PM1 control. */
  readonly controlBlock: BusDevice = {
    name: 'acpi-pm1a-cnt',
    accepts: (offset, size) => offset === 0 && size === 2,
    read: () => this.pm1Control,
    write: (_offset, _size, value) => {
      this.pm1Control = (this.pm1Control & PM1_SCI_EN) | (value & ~(PM1_SLP_EN | PM1_ALWAYS_ZERO) & 0xffff);
      if (!(value & PM1_SLP_EN)) return;
      const type = (this.pm1Control & PM1_SLP_TYP) >> 10;
      if (type === 5) this.control.suspend('poweroff');
      else if (type === SLP_TYP_S3) this.control.sleep();
    },
  };

  /** 0x40C: GPE0_STS (W1C), 0x40D: GPE0_EN. */
  readonly gpeBlock: BusDevice = {
    name: 'acpi-gpe0',
    accepts: (_offset, size) => size === 1,
    read: (offset) => (offset === 0 ? this.gpe0Active : this.gpe0Enabled),
    write: (offset, _size, value) => {
      if (offset === 0) this.gpe0Active &= ~(value & GPE0_VALID);
      else this.gpe0Enabled = value & GPE0_VALID;
      this.sciUpdate();
    },
  };

  /** 0xB2: SMI command (write-only). */
  readonly smiCmd: BusDevice = {
    name: 'acpi-smi-cmd',
    accepts: (_offset, size) => size === 1,
    read: () => 0xff,
    write: (_offset, _size, value) => {
      if (value === BHYVE_ACPI_ENABLE) this.pm1Control |= PM1_SCI_EN;
      else if (value === BHYVE_ACPI_DISABLE) this.pm1Control &= ~PM1_SCI_EN;
    },
  };
}
