/**
 * Just enough ELF64 (little-endian) reading for the asset pipeline: a kernel module's
 * `.modinfo` section (the key=value strings modinfo(8) prints: name, depends, softdep,
 * alias, vermagic) and whether an executable is static (no PT_INTERP), which the
 * initramfs needs of busybox. Every offset is bounds-checked: a damaged file gives an
 * ElfError, never a read past the buffer.
 *
 * Reference: System V ABI, ELF-64 Object File Format (section and program headers).
 */

export class ElfError extends Error {}

const EI_CLASS = 4;
const ELFCLASS64 = 2;
const EI_DATA = 5;
const ELFDATA2LSB = 1;
const PT_INTERP = 3;

function header(b: Uint8Array, what: string): DataView {
  if (b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) throw new ElfError(`${what}: not an ELF file`);
  if (b[EI_CLASS] !== ELFCLASS64 || b[EI_DATA] !== ELFDATA2LSB) throw new ElfError(`${what}: not a little-endian ELF64 file`);
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(v: DataView, off: number, what: string): number {
  const x = v.getBigUint64(off, true);
  if (x > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`${what}: offset out of range`);
  return Number(x);
}

/** Bytes of the named section, or undefined when the file has none. */
export function elfSection(b: Uint8Array, name: string, what: string): Uint8Array | undefined {
  const v = header(b, what);
  const shoff = u64(v, 0x28, what);
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const shstrndx = v.getUint16(0x3e, true);
  if (shnum === 0) return undefined;
  if (shentsize < 64 || shoff + shnum * shentsize > b.length || shstrndx >= shnum) throw new ElfError(`${what}: section header table out of bounds`);
  const sec = (i: number) => {
    const o = shoff + i * shentsize;
    const off = u64(v, o + 0x18, what);
    const size = u64(v, o + 0x20, what);
    const type = v.getUint32(o + 4, true);
    // SHT_NOBITS (8) occupies no file bytes.
    if (type !== 8 && off + size > b.length) throw new ElfError(`${what}: section ${i} out of bounds`);
    return { nameOff: v.getUint32(o, true), off, size, type };
  };
  const strtab = sec(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = sec(i);
    if (s.nameOff >= strtab.size) continue;
    const start = strtab.off + s.nameOff;
    let end = start;
    while (end < strtab.off + strtab.size && b[end] !== 0) end++;
    if (Buffer.from(b.subarray(start, end)).toString('latin1') === name) return s.type === 8 ? new Uint8Array(0) : b.subarray(s.off, s.off + s.size);
  }
  return undefined;
}

/** `.modinfo` of a kernel module as key → values (keys such as alias repeat). */
export function readModinfo(ko: Uint8Array, what: string): Map<string, string[]> {
  const sec = elfSection(ko, '.modinfo', what);
  if (!sec) throw new ElfError(`${what}: no .modinfo section (not a kernel module?)`);
  const out = new Map<string, string[]>();
  for (const s of Buffer.from(sec).toString('utf8').split('\0')) {
    const eq = s.indexOf('=');
    if (eq <= 0) continue;
    const k = s.slice(0, eq);
    const list = out.get(k) ?? [];
    list.push(s.slice(eq + 1));
    out.set(k, list);
  }
  return out;
}

/** Whether an ELF executable asks for a program interpreter (is dynamically linked). */
export function hasInterpreter(b: Uint8Array, what: string): boolean {
  const v = header(b, what);
  const phoff = u64(v, 0x20, what);
  const phentsize = v.getUint16(0x36, true);
  const phnum = v.getUint16(0x38, true);
  if (phnum > 0 && (phentsize < 56 || phoff + phnum * phentsize > b.length)) throw new ElfError(`${what}: program header table out of bounds`);
  for (let i = 0; i < phnum; i++) if (v.getUint32(phoff + i * phentsize, true) === PT_INTERP) return true;
  return false;
}
