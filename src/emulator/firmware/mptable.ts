/**
 * The Intel MultiProcessor Specification 1.4 table (bhyve amd64/mptbl.c;
 * bhyve-userland.md §5.6), written at 0xF0000 unless `x86.mptable=false`:
 * floating pointer "_MP_" followed by the "PCMP" configuration table (OEM "BHyVe   ",
 * product "Hypervisor  ", LAPIC 0xFEE00000) with one processor entry per vCPU (APIC
 * ID = index, version 0x14, BSP flag on vCPU 0), a bus entry per PCI bus and one ISA bus,
 * the I/O APIC (ID = vCPU count, version 0x11), I/O interrupt entries for I/O APIC pins
 * 0-15 (pin 0 ExtINT, pin 2 ← IRQ 0, SCI level/active-low, the rest identity) and for
 * every PCI INTx route, and local interrupts ExtINT → LINT0, NMI → LINT1.
 */

export const MPTABLE_BASE = 0xf0000;
export const MPTABLE_MAX_LENGTH = 0x1000;

export interface MpTableInput {
  ncpus: number;
  pciBuses: number[];
  routes: ReadonlyArray<{ bus: number; slot: number; pin: number; ioapicPin: number }>;
  /** CPUID leaf 1 EAX and EDX for the processor entries. */
  cpuSignature?: number;
  cpuFeatures?: number;
}

const INTENTRY_TYPE_INT = 0;
const INTENTRY_TYPE_NMI = 1;
const INTENTRY_TYPE_EXTINT = 3;
const FLAGS_ACTIVELO_LEVEL = 0x0f;
const SCI_INT = 9;

function checksum(b: Uint8Array, start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i++) s += b[i]!;
  return (256 - (s & 0xff)) & 0xff;
}

export function buildMpTable(input: MpTableInput, base = MPTABLE_BASE): Uint8Array {
  const entries: number[][] = [];
  const ioapicId = input.ncpus & 0xff;
  const sig = input.cpuSignature ?? 0;
  const feat = input.cpuFeatures ?? 0;
  const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  for (let i = 0; i < input.ncpus; i++) {
    entries.push([0, i & 0xff, 0x14, 0x01 | (i === 0 ? 0x02 : 0), ...le32(sig), ...le32(feat), 0, 0, 0, 0, 0, 0, 0, 0]);
  }
  const buses = [...new Set(input.pciBuses)].sort((a, b) => a - b);
  const isaBus = buses.length > 0 ? buses[buses.length - 1]! + 1 : 0;
  if (isaBus > 255) throw new RangeError('no MP table bus id left for ISA');
  const busEntry = (id: number, type: string) => [1, id, ...Array.from(type.padEnd(6), (c) => c.charCodeAt(0))];
  for (const b of buses) entries.push(busEntry(b, 'PCI'));
  entries.push(busEntry(isaBus, 'ISA'));
  entries.push([2, ioapicId, 0x11, 0x01, ...le32(0xfec0_0000)]);
  for (let pin = 0; pin < 16; pin++) {
    let type = INTENTRY_TYPE_INT;
    let flags = 0;
    let irq = pin;
    if (pin === 0) type = INTENTRY_TYPE_EXTINT;
    else if (pin === 2) irq = 0;
    else if (pin === SCI_INT) flags = FLAGS_ACTIVELO_LEVEL;
    entries.push([3, type, flags, 0, isaBus, irq, ioapicId, pin]);
  }
  for (const r of input.routes) {
    entries.push([3, INTENTRY_TYPE_INT, FLAGS_ACTIVELO_LEVEL, 0, r.bus, (r.slot << 2) | (r.pin - 1), ioapicId, r.ioapicPin]);
  }
  entries.push([4, INTENTRY_TYPE_EXTINT, 0, 0, isaBus, 0, 0xff, 0]);
  entries.push([4, INTENTRY_TYPE_NMI, 0, 0, isaBus, 0, 0xff, 1]);

  const bodyLen = entries.reduce((n, e) => n + e.length, 0);
  const total = 16 + 44 + bodyLen;
  if (total > MPTABLE_MAX_LENGTH) throw new RangeError(`MP table too large (${total} bytes)`);
  const t = new Uint8Array(total);
  const dv = new DataView(t.buffer);
  // Floating pointer structure.
  t.set([0x5f, 0x4d, 0x50, 0x5f], 0); // "_MP_"
  dv.setUint32(4, base + 16, true);
  t[8] = 1; // length in 16-byte units
  t[9] = 4; // spec revision 1.4
  t[10] = checksum(t, 0, 16);
  // Configuration table header.
  const h = 16;
  t.set([0x50, 0x43, 0x4d, 0x50], h); // "PCMP"
  dv.setUint16(h + 4, 44 + bodyLen, true);
  t[h + 6] = 4;
  t.set(Array.from('BHyVe   ', (c) => c.charCodeAt(0)), h + 8);
  t.set(Array.from('Hypervisor  ', (c) => c.charCodeAt(0)), h + 16);
  dv.setUint16(h + 34, entries.length, true);
  dv.setUint32(h + 36, 0xfee0_0000, true);
  let o = h + 44;
  for (const e of entries) {
    t.set(e, o);
    o += e.length;
  }
  t[h + 7] = checksum(t, h, h + 44 + bodyLen);
  return t;
}
