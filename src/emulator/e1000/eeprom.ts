/**
 * The 82545EM's Microwire EEPROM as the driver bit-bangs it through EECD (82545EM
 * manual §5.3; bhyve pci_e82545.c e82545_eecd_strobe / e82545_init_eeprom): 64 words
 * holding the MAC address, the PCI IDs and a checksum making the words sum to 0xBABA.
 *
 * Commands are 3 opcode bits then 6 address bits, shifted in on rising SK edges while CS
 * is set: READ (110) shifts 16 data bits out on DO, WRITE (101) shifts 16 bits in and
 * stores them, EWEN (100) is accepted; anything else is ignored. Out-of-range addresses
 * read as zero and are not written. A pure state machine: no I/O.
 */
import {
  E1000_EECD_CS,
  E1000_EECD_DI,
  E1000_EECD_DO,
  E1000_EECD_GNT,
  E1000_EECD_PRES,
  E1000_EECD_REQ,
  E1000_EECD_SK,
  E82545_DEV_ID_82545EM_COPPER,
  E82545_EECD_FWE_EN,
  E82545_NVM_EEPROM_SIZE,
  E82545_SUBDEV_ID,
  E82545_VENDOR_ID_INTEL,
  NVM_CHECKSUM_REG,
  NVM_DEV_ID,
  NVM_MAC_ADDR,
  NVM_SUB_DEV_ID,
  NVM_SUB_VEN_ID,
  NVM_SUM,
  NVM_VEN_ID,
} from './regs.js';

const OPCODE_BITS = 3;
const ADDR_BITS = 6;
const DATA_BITS = 16;
const OPADDR_BITS = OPCODE_BITS + ADDR_BITS;
const ADDR_MASK = (1 << ADDR_BITS) - 1;
const OPCODE_MASK = ((1 << OPCODE_BITS) - 1) << ADDR_BITS;
const OP_READ = 0x6 << ADDR_BITS;
const OP_WRITE = 0x5 << ADDR_BITS;

const enum Mode {
  OpAddr,
  DataIn,
  DataOut,
}

export class Eeprom {
  readonly words = new Uint16Array(E82545_NVM_EEPROM_SIZE);
  /** The EECD register as the driver reads it. */
  eecd = 0;
  private mode = Mode.OpAddr;
  private bits = OPADDR_BITS;
  private opaddr = 0;
  private data = 0;

  constructor(mac: Uint8Array) {
    this.words[NVM_MAC_ADDR] = mac[0]! | (mac[1]! << 8);
    this.words[NVM_MAC_ADDR + 1] = mac[2]! | (mac[3]! << 8);
    this.words[NVM_MAC_ADDR + 2] = mac[4]! | (mac[5]! << 8);
    this.words[NVM_SUB_DEV_ID] = E82545_SUBDEV_ID;
    this.words[NVM_SUB_VEN_ID] = E82545_VENDOR_ID_INTEL;
    this.words[NVM_DEV_ID] = E82545_DEV_ID_82545EM_COPPER;
    this.words[NVM_VEN_ID] = E82545_VENDOR_ID_INTEL;
    let sum = 0;
    for (let i = 0; i < NVM_CHECKSUM_REG; i++) sum = (sum + this.words[i]!) & 0xffff;
    this.words[NVM_CHECKSUM_REG] = (NVM_SUM - sum) & 0xffff;
    this.reset();
  }

  reset(): void {
    this.mode = Mode.OpAddr;
    this.bits = OPADDR_BITS;
    this.opaddr = 0;
    this.eecd = E1000_EECD_PRES | E82545_EECD_FWE_EN;
  }

  /** A write of EECD: SK/CS/DI/REQ latched, GNT follows REQ, a rising SK with CS clocks a bit. */
  write(value: number): void {
    const rising = !(this.eecd & E1000_EECD_SK) && (value & E1000_EECD_SK) !== 0;
    const mask = E1000_EECD_SK | E1000_EECD_CS | E1000_EECD_DI | E1000_EECD_REQ;
    this.eecd = (this.eecd & ~mask) | (value & mask);
    if (value & E1000_EECD_REQ) this.eecd |= E1000_EECD_GNT;
    else this.eecd &= ~E1000_EECD_GNT;
    if (rising && this.eecd & E1000_EECD_CS) this.strobe();
  }

  private opcodeMode(): void {
    this.opaddr = 0;
    this.mode = Mode.OpAddr;
    this.bits = OPADDR_BITS;
  }

  private strobe(): void {
    if (this.bits === 0) return;
    this.bits--;
    const di = (this.eecd & E1000_EECD_DI) !== 0 ? 1 : 0;
    switch (this.mode) {
      case Mode.DataOut:
        if (this.data & 0x8000) this.eecd |= E1000_EECD_DO;
        else this.eecd &= ~E1000_EECD_DO;
        this.data = (this.data << 1) & 0xffff;
        if (this.bits === 0) this.opcodeMode();
        break;
      case Mode.DataIn:
        this.data = ((this.data << 1) | di) & 0xffff;
        if (this.bits === 0) {
          const addr = this.opaddr & ADDR_MASK;
          if ((this.opaddr & OPCODE_MASK) === OP_WRITE && addr < E82545_NVM_EEPROM_SIZE) this.words[addr] = this.data;
          this.opcodeMode();
        }
        break;
      case Mode.OpAddr:
        this.opaddr = (this.opaddr << 1) | di;
        if (this.bits === 0) {
          const op = this.opaddr & OPCODE_MASK;
          if (op === OP_READ) {
            const addr = this.opaddr & ADDR_MASK;
            this.mode = Mode.DataOut;
            this.bits = DATA_BITS;
            this.data = addr < E82545_NVM_EEPROM_SIZE ? this.words[addr]! : 0;
          } else if (op === OP_WRITE) {
            this.mode = Mode.DataIn;
            this.bits = DATA_BITS;
            this.data = 0;
          } else {
            // EWEN (write enable, always granted) and unknown opcodes: back to opcode mode.
            this.opcodeMode();
          }
        }
        break;
    }
  }
}
