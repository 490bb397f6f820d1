/**
 * The x86-64 register file as the GDB stub offers it: a target description (qXfer
 * features:read target.xml, gdb manual "Target Descriptions", the i386 features of
 * "Standard Target Features") and the g/G/p/P codec over the vmm's VcpuState.
 *
 * Layout (regnum order = g-packet order): org.gnu.gdb.i386.core as gdb's 64bit-core.xml
 * has it (rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip eflags cs ss ds es fs gs, then the x87
 * registers st0-st7 fctrl fstat ftag fiseg fioff foseg fooff fop that gdb requires in the
 * core feature), org.gnu.gdb.i386.segments (fs_base gs_base), and a feature of our own,
 * org.tsvirt.x86.system (cr0 cr2 cr3 cr4 cr8 efer), shown by `info registers` and usable
 * as $cr3. The vmm exposes no x87 state, so those registers are reported unavailable
 * (`xx` bytes) and refuse writes rather than show invented zeros; there is no SSE feature
 * for the same reason. The description is always 64-bit (like bhyve's and QEMU's x86-64
 * stubs), also while the guest runs 16- or 32-bit code.
 *
 * Writes: general registers, rip, eflags, fs_base/gs_base and the system registers.
 * Segment selectors are read-only here (a selector alone does not load a descriptor):
 * P refuses them, G keeps their current value.
 */
import type { VcpuState, GprName } from '../vmm/registers.js';
import { fromHexLE, toHexLE } from './hex.js';

export interface RegisterDef {
  readonly name: string;
  /** Size in bytes in the g packet. */
  readonly size: number;
  readonly type: string;
  readonly group?: string;
  /** Feature the register belongs to. */
  readonly feature: 'core' | 'segments' | 'system';
  /** Current value; undefined = unavailable. */
  get(s: VcpuState): bigint | undefined;
  /** Absent = read-only. */
  set?(s: VcpuState, v: bigint): void;
}

function gpr(name: string, field: GprName, type = 'int64'): RegisterDef {
  return {
    name,
    size: 8,
    type,
    feature: 'core',
    get: (s) => s[field],
    set: (s, v) => {
      s[field] = v;
    },
  };
}

function selector(name: 'cs' | 'ss' | 'ds' | 'es' | 'fs' | 'gs'): RegisterDef {
  return { name, size: 4, type: 'int32', feature: 'core', get: (s) => BigInt(s[name].selector) };
}

function unavailable(name: string, size: number, type: string): RegisterDef {
  return { name, size, type, group: 'float', feature: 'core', get: () => undefined };
}

/** fs_base / gs_base: the hidden base of FS or GS (what WRFSBASE and the MSRs set). */
function segmentBase(seg: 'fs' | 'gs'): RegisterDef {
  return {
    name: `${seg}_base`,
    size: 8,
    type: 'int64',
    feature: 'segments',
    get: (s) => s[seg].base,
    set: (s, v) => {
      s[seg] = { ...s[seg], base: v };
    },
  };
}

function system(name: 'cr0' | 'cr2' | 'cr3' | 'cr4' | 'cr8' | 'efer'): RegisterDef {
  return {
    name,
    size: 8,
    type: 'int64',
    group: 'system',
    feature: 'system',
    get: (s) => s[name],
    set: (s, v) => {
      s[name] = v;
    },
  };
}

const X87 = ['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'];

/** The registers in regnum order. */
export const REGISTERS: readonly RegisterDef[] = [
  gpr('rax', 'rax'),
  gpr('rbx', 'rbx'),
  gpr('rcx', 'rcx'),
  gpr('rdx', 'rdx'),
  gpr('rsi', 'rsi'),
  gpr('rdi', 'rdi'),
  gpr('rbp', 'rbp', 'data_ptr'),
  gpr('rsp', 'rsp', 'data_ptr'),
  ...(['r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const).map((r) => gpr(r, r)),
  {
    name: 'rip',
    size: 8,
    type: 'code_ptr',
    feature: 'core',
    get: (s) => s.rip,
    set: (s, v) => {
      s.rip = v;
    },
  },
  {
    name: 'eflags',
    size: 4,
    type: 'i386_eflags',
    feature: 'core',
    get: (s) => s.rflags & 0xffffffffn,
    // Bit 1 is always 1; the upper half of RFLAGS is reserved (zero).
    set: (s, v) => {
      s.rflags = (v & 0xffffffffn) | 2n;
    },
  },
  selector('cs'),
  selector('ss'),
  selector('ds'),
  selector('es'),
  selector('fs'),
  selector('gs'),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => unavailable(`st${i}`, 10, 'i387_ext')),
  ...X87.map((n) => unavailable(n, 4, 'int')),
  segmentBase('fs'),
  segmentBase('gs'),
  system('cr0'),
  system('cr2'),
  system('cr3'),
  system('cr4'),
  system('cr8'),
  system('efer'),
];

/** Length in hex characters of a full g packet. */
export const G_PACKET_CHARS = REGISTERS.reduce((n, r) => n + r.size * 2, 0);

/** One register as hex (`xx..` when unavailable). */
export function encodeRegister(def: RegisterDef, s: VcpuState): string {
  const v = def.get(s);
  return v === undefined ? 'xx'.repeat(def.size) : toHexLE(v, def.size);
}

/** The g packet reply. */
export function encodeAll(s: VcpuState): string {
  let out = '';
  for (const r of REGISTERS) out += encodeRegister(r, s);
  return out;
}

/**
 * Applies a G packet to `s`. Writable registers take the new value; read-only and
 * unavailable ones are skipped (gdb sends back what it read, `xx` included). Returns an
 * error text for a malformed packet, leaving `s` untouched.
 */
export function decodeAll(hex: string, s: VcpuState): string | undefined {
  if (hex.length !== G_PACKET_CHARS) return `G packet of ${hex.length} hex digits, expected ${G_PACKET_CHARS}`;
  const values: (bigint | undefined)[] = [];
  let o = 0;
  for (const r of REGISTERS) {
    const part = hex.slice(o, o + r.size * 2);
    o += r.size * 2;
    if (/^x+$/i.test(part)) {
      values.push(undefined);
      continue;
    }
    const v = fromHexLE(part, r.size);
    if (v === undefined) return `register ${r.name}: '${part}' is not hex`;
    values.push(v);
  }
  REGISTERS.forEach((r, i) => {
    const v = values[i];
    if (v !== undefined && r.set) r.set(s, v);
  });
  return undefined;
}

/** Applies a P packet; returns an error text (unknown, read-only, malformed). */
export function decodeOne(regnum: number, hex: string, s: VcpuState): string | undefined {
  const r = REGISTERS[regnum];
  if (!r) return `no register ${regnum}`;
  if (!r.set) return `register ${r.name} is read-only`;
  const v = fromHexLE(hex, r.size);
  if (v === undefined) return `register ${r.name}: '${hex}' is not a ${r.size}-byte value`;
  r.set(s, v);
  return undefined;
}

const EFLAGS_FIELDS: [string, number][] = [
  ['CF', 0], ['', 1], ['PF', 2], ['AF', 4], ['ZF', 6], ['SF', 7], ['TF', 8], ['IF', 9],
  ['DF', 10], ['OF', 11], ['NT', 14], ['RF', 16], ['VM', 17], ['AC', 18], ['VIF', 19],
  ['VIP', 20], ['ID', 21],
];

function regXml(r: RegisterDef, regnum: number): string {
  const group = r.group ? ` group="${r.group}"` : '';
  return `<reg name="${r.name}" bitsize="${r.size * 8}" type="${r.type}" regnum="${regnum}"${group}/>`;
}

/** target.xml: the description gdb reads with qXfer:features:read. */
export function targetXml(): string {
  const lines: string[] = [
    '<?xml version="1.0"?>',
    '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
    '<target version="1.0">',
    '<architecture>i386:x86-64</architecture>',
    '<feature name="org.gnu.gdb.i386.core">',
    '<flags id="i386_eflags" size="4">',
    ...EFLAGS_FIELDS.map(([n, b]) => `<field name="${n}" start="${b}" end="${b}"/>`),
    '</flags>',
  ];
  const section = (feature: RegisterDef['feature']): string[] =>
    REGISTERS.flatMap((r, i) => (r.feature === feature ? [regXml(r, i)] : []));
  lines.push(...section('core'), '</feature>');
  lines.push('<feature name="org.gnu.gdb.i386.segments">', ...section('segments'), '</feature>');
  lines.push('<feature name="org.tsvirt.x86.system">', ...section('system'), '</feature>');
  lines.push('</target>');
  return lines.join('\n') + '\n';
}
