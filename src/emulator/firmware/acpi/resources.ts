/**
 * ACPI resource descriptors for `_CRS`/`_PRS` buffers (ACPI 6.5 §6.4 "Resource Data
 * Types"): IO, FixedIO, IRQ, Memory32Fixed, Word/DWord/QWord address spaces, and the End
 * Tag that closes a template (with checksum 0, "treat as summed correctly").
 */
import { buffer, concat, type Aml } from './aml.js';

const le16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
function le64(v: number): number[] {
  const lo = v % 0x1_0000_0000;
  const hi = Math.floor(v / 0x1_0000_0000);
  return [...le32(lo), ...le32(hi)];
}

/** IO (Decode16, min, max, align, len). */
export function io(min: number, max: number, align: number, len: number): Aml {
  return Uint8Array.of(0x47, 0x01, ...le16(min), ...le16(max), align, len);
}

/** A fixed-location port range as bhyve's dsdt_fixed_ioport writes it (IO Decode16, align 1). */
export function fixedIoPort(base: number, len: number): Aml {
  return io(base, base, 1, len);
}

/** IRQNoFlags () {irq...} — edge, active high, exclusive. */
export function irqNoFlags(...irqs: number[]): Aml {
  let mask = 0;
  for (const i of irqs) mask |= 1 << i;
  return Uint8Array.of(0x22, ...le16(mask));
}

/** IRQ (Level, ActiveLow, Shared) {irq...}. */
export function irqLevelLowShared(...irqs: number[]): Aml {
  let mask = 0;
  for (const i of irqs) mask |= 1 << i;
  return Uint8Array.of(0x23, ...le16(mask), 0x18);
}

/** Memory32Fixed (ReadWrite, base, len). */
export function memory32Fixed(base: number, len: number): Aml {
  return Uint8Array.of(0x86, 0x09, 0x00, 0x01, ...le32(base), ...le32(len));
}

/** WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, len). */
export function wordBusNumber(min: number, max: number): Aml {
  return Uint8Array.of(0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, ...le16(0), ...le16(min), ...le16(max), ...le16(0), ...le16(max - min + 1));
}

/** WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, ..., TypeStatic). */
export function wordIo(min: number, max: number): Aml {
  return Uint8Array.of(0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, ...le16(0), ...le16(min), ...le16(max), ...le16(0), ...le16(max - min + 1));
}

/** DWordMemory (ResourceProducer|Consumer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite). */
export function dwordMemory(min: number, max: number, producer = true): Aml {
  const general = 0x0c | (producer ? 0 : 0x01);
  return Uint8Array.of(0x87, 0x17, 0x00, 0x00, general, 0x01, ...le32(0), ...le32(min), ...le32(max), ...le32(0), ...le32(max - min + 1));
}

/** QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite). */
export function qwordMemory(min: number, max: number): Aml {
  return Uint8Array.of(0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01, ...le64(0), ...le64(min), ...le64(max), ...le64(0), ...le64(max - min + 1));
}

/** ResourceTemplate () { ... } as an AML Buffer, End Tag appended. */
export function resourceTemplate(...descriptors: Aml[]): Aml {
  return buffer(concat(...descriptors, Uint8Array.of(0x79, 0x00)));
}
