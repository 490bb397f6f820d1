/**
 * The legacy PC state a multiboot kernel finds after a BIOS, without a BIOS: what QEMU's
 * `-kernel` guests get from SeaBIOS before its multiboot option ROM jumps to them, and
 * what kvm-unit-tests' realmode test relies on (reference: kvm-unit-tests-on-a-vmm.md §3,
 * item 12). Two pieces, both plain guest code and data so they work on every vmm backend:
 *
 * - a real-mode interrupt vector table at 0 (256 far pointers into F000:xxxx): vectors
 *   0x08-0x0F (master 8259) and 0x70-0x77 (slave) point to handlers that send a
 *   non-specific EOI and IRET; every other vector points to a bare IRET;
 * - a 32-bit init routine the BSP runs first, in the multiboot entry state (flat protected
 *   mode, IF=0): it initialises both 8259s in cascade with vector bases 0x08 and 0x70 (ICW1
 *   edge/ICW4, ICW3 cascade on IRQ2, ICW4 8086 mode), leaves IRQ0 and the cascade IRQ2
 *   unmasked on the master and the slave fully masked, programs PIT channel 0 as a rate
 *   generator with count 65536 (18.2 Hz, the BIOS tick), restores EAX and jumps to the
 *   kernel's entry with EBX untouched.
 *
 * Does not provide BIOS services (INT 10h/13h/15h... are bare IRETs), a BDA/EBDA, or SMM.
 * Code lives at 0xFE000-0xFE0FF (F000:E000): above the MP table, SMBIOS and ACPI tables
 * (0xF0000 up), below the ELF header page (0xFF000) of images linked at 1 MiB.
 */
import type { GuestMemory } from '../memory/guest-memory.js';

export const BIOS_CODE_BASE = 0xfe000;
export const BIOS_SEGMENT = 0xf000;
export const PIC_MASTER_BASE = 0x08;
export const PIC_SLAVE_BASE = 0x70;
/** Master mask left by init: IRQ0 (PIT) and IRQ2 (cascade) open. */
export const PIC_MASTER_MASK = 0xfa;
export const PIC_SLAVE_MASK = 0xff;

const IRET = [0xcf];
// push ax; mov al,0x20; out 0x20,al; pop ax; iret
const MASTER_EOI = [0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf];
// push ax; mov al,0x20; out 0xa0,al; out 0x20,al; pop ax; iret
const SLAVE_EOI = [0x50, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0x58, 0xcf];

const outb = (port: number, value: number) => [0xb0, value & 0xff, 0xe6, port & 0xff]; // mov al,v; out port,al

function initRoutine(entry: number): number[] {
  const code = [
    0x89, 0xc6, // mov esi, eax
    ...outb(0x20, 0x11), ...outb(0x21, PIC_MASTER_BASE), ...outb(0x21, 0x04), ...outb(0x21, 0x01),
    ...outb(0xa0, 0x11), ...outb(0xa1, PIC_SLAVE_BASE), ...outb(0xa1, 0x02), ...outb(0xa1, 0x01),
    ...outb(0x21, PIC_MASTER_MASK), ...outb(0xa1, PIC_SLAVE_MASK),
    ...outb(0x43, 0x34), ...outb(0x40, 0x00), ...outb(0x40, 0x00),
    0x89, 0xf0, // mov eax, esi
    0xb9, entry & 0xff, (entry >>> 8) & 0xff, (entry >>> 16) & 0xff, (entry >>> 24) & 0xff, // mov ecx, entry
    0xff, 0xe1, // jmp ecx
  ];
  return code;
}

export interface LegacyBios {
  /** Physical address of the 32-bit init routine: the BSP's first instruction. */
  initAddress: number;
}

/** Writes the IVT and the handlers, and an init routine ending in a jump to `entry`. */
export function installLegacyBios(mem: GuestMemory, entry: number): LegacyBios {
  const iretOff = BIOS_CODE_BASE - BIOS_SEGMENT * 16;
  const masterOff = iretOff + IRET.length;
  const slaveOff = masterOff + MASTER_EOI.length;
  const initOff = slaveOff + SLAVE_EOI.length;
  const code = Uint8Array.from([...IRET, ...MASTER_EOI, ...SLAVE_EOI, ...initRoutine(entry)]);
  mem.writeBytes(BIOS_CODE_BASE, code);
  const ivt = new Uint8Array(256 * 4);
  const dv = new DataView(ivt.buffer);
  for (let v = 0; v < 256; v++) {
    let off = iretOff;
    if (v >= PIC_MASTER_BASE && v < PIC_MASTER_BASE + 8) off = masterOff;
    else if (v >= PIC_SLAVE_BASE && v < PIC_SLAVE_BASE + 8) off = slaveOff;
    dv.setUint16(4 * v, off, true);
    dv.setUint16(4 * v + 2, BIOS_SEGMENT, true);
  }
  mem.writeBytes(0, ivt);
  return { initAddress: BIOS_SEGMENT * 16 + initOff };
}
