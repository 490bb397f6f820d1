/**
 * QEMU `-cpu MODEL[,+feat|-feat|feat=on|off|key=value]...` against the CPU a VMM offers:
 * the harness's probe turns a test whose QEMU options cannot be honoured into a SKIP with
 * QEMU's last error line; this module does the same for tsbhyve, deciding from the CPUID
 * table the soft CPU really reports (read from the vmm by the runner) whether each asked
 * feature is there.
 *
 * Rules: models `qemu64` and `max` are this CPU as it is; `host` needs KVM (SKIP, as QEMU TCG
 * says); other named models run on this CPU's model (noted). `+feat` needs the CPUID bit set;
 * `-feat` needs it clear (this CPU's table is fixed, nothing is hidden); a feature name the
 * table below does not know, Hyper-V `hv_*` flags and `vendor=` other than this CPU's are
 * SKIPs with the reason. `phys-bits=N` must match CPUID 0x80000008; `host-phys-bits`,
 * `migratable` change nothing here.
 */

export interface CpuidLeaf {
  leaf: number;
  subleaf?: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

type Reg = 'eax' | 'ebx' | 'ecx' | 'edx';

/** QEMU feature names used by x86/unittests.cfg → CPUID bit (SDM vol. 2 CPUID; AMD APM vol. 3 E.4). */
export const FEATURE_BITS: Readonly<Record<string, { leaf: number; subleaf?: number; reg: Reg; bit: number }>> = {
  vmx: { leaf: 1, reg: 'ecx', bit: 5 },
  pcid: { leaf: 1, reg: 'ecx', bit: 17 },
  x2apic: { leaf: 1, reg: 'ecx', bit: 21 },
  'tsc-deadline': { leaf: 1, reg: 'ecx', bit: 24 },
  xsave: { leaf: 1, reg: 'ecx', bit: 26 },
  umip: { leaf: 7, subleaf: 0, reg: 'ecx', bit: 2 },
  pku: { leaf: 7, subleaf: 0, reg: 'ecx', bit: 3 },
  invpcid: { leaf: 7, subleaf: 0, reg: 'ebx', bit: 10 },
  svm: { leaf: 0x80000001, reg: 'ecx', bit: 2 },
  skinit: { leaf: 0x80000001, reg: 'ecx', bit: 12 },
  rdtscp: { leaf: 0x80000001, reg: 'edx', bit: 27 },
  npt: { leaf: 0x8000000a, reg: 'edx', bit: 0 },
};

const VMX_SUBFEATURE = /^vmx-/;

export type CpuVerdict = { ok: true; notes: string[] } | { ok: false; reason: string };

function lookup(table: readonly CpuidLeaf[], leaf: number, subleaf = 0): CpuidLeaf | undefined {
  return table.find((e) => e.leaf === leaf && (e.subleaf === undefined || e.subleaf === subleaf));
}

export function hasFeature(table: readonly CpuidLeaf[], name: string): boolean | undefined {
  const f = FEATURE_BITS[name];
  if (!f) return undefined;
  const e = lookup(table, f.leaf, f.subleaf ?? 0);
  return e !== undefined && ((e[f.reg] >>> f.bit) & 1) === 1;
}

function vendorOf(table: readonly CpuidLeaf[]): string {
  const e = lookup(table, 0);
  if (!e) return '';
  const b = Buffer.alloc(12);
  b.writeUInt32LE(e.ebx >>> 0, 0);
  b.writeUInt32LE(e.edx >>> 0, 4);
  b.writeUInt32LE(e.ecx >>> 0, 8);
  return b.toString('latin1');
}

/** Judges one `-cpu` value against the CPU's CPUID table. */
export function judgeCpu(spec: string, table: readonly CpuidLeaf[]): CpuVerdict {
  const [model = '', ...opts] = spec.split(',');
  const notes: string[] = [];
  if (model === 'host') return { ok: false, reason: "CPU model 'host' requires KVM" };
  if (model !== 'qemu64' && model !== 'max') notes.push(`model ${model} runs as the soft CPU's model`);
  for (const o of opts) {
    if (o === '') continue;
    let name: string;
    let want: boolean | undefined;
    let value: string | undefined;
    if (o.startsWith('+') || o.startsWith('-')) {
      name = o.slice(1);
      want = o[0] === '+';
    } else {
      const eq = o.indexOf('=');
      name = eq < 0 ? o : o.slice(0, eq);
      value = eq < 0 ? 'on' : o.slice(eq + 1);
      if (value === 'on' || value === 'true') want = true;
      else if (value === 'off' || value === 'false') want = false;
    }
    if (name === 'vendor') {
      const have = vendorOf(table);
      if (value !== have) return { ok: false, reason: `vendor ${value} asked, the soft CPU is ${have}` };
      continue;
    }
    if (name === 'host-phys-bits' || name === 'migratable') continue;
    if (name === 'phys-bits') {
      const bits = (lookup(table, 0x80000008)?.eax ?? 0) & 0xff;
      if (Number(value) !== bits) return { ok: false, reason: `phys-bits=${value} asked, the soft CPU has ${bits}` };
      continue;
    }
    if (name.startsWith('hv_') || name.startsWith('hv-')) return { ok: false, reason: `Hyper-V enlightenment ${name} not provided` };
    if (VMX_SUBFEATURE.test(name)) {
      if (hasFeature(table, 'vmx')) return { ok: false, reason: `VMX control ${name} not modelled` };
      if (want === false) continue; // removing a control of an absent VMX changes nothing
      return { ok: false, reason: `${name} needs VMX, which the soft CPU does not have` };
    }
    if (want === undefined) return { ok: false, reason: `CPU property ${o} not understood` };
    const has = hasFeature(table, name);
    if (has === undefined) return { ok: false, reason: `CPU feature ${name}: no CPUID mapping in the runner` };
    if (want && !has) return { ok: false, reason: `CPU feature ${name} not provided by the soft CPU` };
    if (!want && has) return { ok: false, reason: `CPU feature ${name} cannot be hidden (the soft CPU's CPUID is fixed)` };
  }
  return { ok: true, notes };
}
