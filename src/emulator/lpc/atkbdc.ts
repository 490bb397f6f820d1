/**
 * A keyboard controller (i8042) without keyboard or mouse attached, enough for guests to
 * probe it and to reset the machine (bhyve atkbdc.c, in its pre-PS/2 form;
 * bhyve-userland.md §3, §5.3): ports 0x60 (data) and 0x64 (status/command), byte
 * accesses only.
 *
 * Commands: 0xFE and the output-port pulse commands with bit 0 clear (0xF0-0xFE even)
 * reset the VM (exit 0); 0xD1 then a data byte with bit 0 clear (write output port) too;
 * 0x20 reads the command byte, 0x60 writes it; 0xAA self-test answers 0x55; 0xAB/0xA9
 * interface tests answer 0x00; 0xAD/0xAE/0xA7/0xA8 are accepted. Data written to the
 * keyboard gets no answer (nothing is attached). Status has the system flag set, as after
 * POST, and OBF while a reply waits.
 */
import type { BusDevice } from '../bus/range.js';
import type { RunControl } from '../run-control.js';

export const KBD_DATA_PORT = 0x60;
export const KBD_STS_CTL_PORT = 0x64;
export const KBDS_OUTPUT_BUFFER_FULL = 0x01;
export const KBDS_SYS_FLAG = 0x04;
export const KBDS_CMD_DATA = 0x08;
export const KBDC_RESET = 0xfe;
export const KBDC_SET_COMMAND_BYTE = 0x60;
export const KBDC_GET_COMMAND_BYTE = 0x20;
export const KBDC_WRITE_OUTPUT_PORT = 0xd1;
export const KBDC_DIAGNOSE = 0xaa;
export const KBDC_TEST_KBD_PORT = 0xab;
export const KBDC_TEST_AUX_PORT = 0xa9;

export class Atkbdc {
  private out: number | undefined;
  private commandByte = 0x45;
  private pending: number | undefined;
  private lastWasCommand = false;

  constructor(private readonly control: RunControl) {}

  private status(): number {
    return KBDS_SYS_FLAG | (this.lastWasCommand ? KBDS_CMD_DATA : 0) | (this.out !== undefined ? KBDS_OUTPUT_BUFFER_FULL : 0);
  }

  private command(cmd: number): void {
    this.lastWasCommand = true;
    switch (cmd) {
      case KBDC_GET_COMMAND_BYTE:
        this.out = this.commandByte;
        break;
      case KBDC_SET_COMMAND_BYTE:
      case KBDC_WRITE_OUTPUT_PORT:
        this.pending = cmd;
        break;
      case KBDC_DIAGNOSE:
        this.out = 0x55;
        break;
      case KBDC_TEST_KBD_PORT:
      case KBDC_TEST_AUX_PORT:
        this.out = 0x00;
        break;
      default:
        // 0xF0-0xFF pulse output-port lines low for each clear bit; bit 0 is CPU reset.
        if (cmd >= 0xf0 && (cmd & 1) === 0) this.control.suspend('reset');
    }
  }

  private data(v: number): void {
    this.lastWasCommand = false;
    const p = this.pending;
    this.pending = undefined;
    if (p === KBDC_SET_COMMAND_BYTE) this.commandByte = v;
    else if (p === KBDC_WRITE_OUTPUT_PORT && (v & 1) === 0) this.control.suspend('reset');
    // Bytes for the (absent) keyboard are dropped.
  }

  readonly dataPort: BusDevice = {
    name: 'atkbdc-data',
    accepts: (_o, size) => size === 1,
    read: () => {
      const v = this.out ?? 0;
      this.out = undefined;
      return v;
    },
    write: (_o, _s, v) => this.data(v),
  };

  readonly statusPort: BusDevice = {
    name: 'atkbdc-sts-ctl',
    accepts: (_o, size) => size === 1,
    read: () => this.status(),
    write: (_o, _s, v) => this.command(v),
  };
}
