/**
 * bench/vmm/exits: what an exit costs and how many interrupts get through, per backend.
 *
 * Run: npx vite-node bench/vmm/exits.ts [--quick]
 *
 * Rows (each measured in the same run, per backend present):
 *  - port exit handled in TypeScript: a real-mode loop of `out 0x80, al`; every OUT blocks
 *    the vCPU thread until the JS handler returned (thread-safe function round trip);
 *  - the same with exit polling on (exitSpinMicros: 20): the JS thread keeps taking the
 *    next exits without the thread-safe-function hop; the ratio is against the default;
 *  - port exit handled in the vmm: the same loop on `out 0x70, al` (RTC index, in-vmm);
 *    the ratio column is TypeScript / in-vmm for the same backend;
 *  - guest instructions only: the loop without I/O (the loop's own cost, for scale);
 *  - self-IPIs per second: a long-mode guest sends itself fixed IPIs back to back (ICR
 *    write, delivery, EOI: all inside the vmm);
 *  - MSIs per second through TypeScript: the guest asks for an MSI with a port write (an
 *    exit handled in TypeScript that calls vm.msi()) and waits for it, one after another:
 *    the path of a device model completing a request.
 */
import { buildVmmGuest } from '../../test/emulator/vmm/guest-build.js';
import { loadMultiboot } from '../../test/emulator/vmm/multiboot.js';
import { Vm, probeBackends, type VmExit } from '../../src/emulator/vmm/vmm.js';

const quick = process.argv.includes('--quick');

function loopCode(kind: 'ts' | 'vmm' | 'none', n: number): number[] {
  // mov ecx, n ; loop: [out imm8, al] ; dec ecx ; jnz loop ; out 0xE4, al ; cli ; hlt
  const body = kind === 'ts' ? [0xe6, 0x80] : kind === 'vmm' ? [0xe6, 0x70] : [0x90, 0x90];
  const code = [0x66, 0xb9, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
  const loop = code.length;
  code.push(...body, 0x66, 0x49);
  const jnz = code.length;
  code.push(0x75, (loop - (jnz + 2)) & 0xff);
  code.push(0xe6, 0xe4, 0xfa, 0xf4);
  return code;
}

async function timeLoop(
  backend: 'kvm' | 'soft',
  kind: 'ts' | 'vmm' | 'none',
  n: number,
  exitSpinMicros?: number,
): Promise<number> {
  const vm = Vm.create({ backend, memorySize: 4 * 1024 * 1024, ...(exitSpinMicros === undefined ? {} : { exitSpinMicros }) });
  try {
    vm.createVcpu();
    vm.memory.write(0x1000, Uint8Array.from(loopCode(kind, n)));
    vm.vcpu(0)!.updateState((s) => {
      s.cs = { ...s.cs, base: 0n, selector: 0 };
      s.rip = 0x1000n;
    });
    let t0 = 0n;
    let t1 = 0n;
    let handled = 0;
    const handler = (e: VmExit): void => {
      if (e.kind !== 'inout') return;
      if (e.port === 0x80) handled++;
      else if (e.port === 0xe4) t1 = process.hrtime.bigint();
    };
    t0 = process.hrtime.bigint();
    await vm.run(handler);
    if (kind === 'ts' && handled !== n) throw new Error(`expected ${n} exits, saw ${handled}`);
    return Number(t1 - t0) / n;
  } finally {
    vm.destroy();
  }
}

async function irqRate(backend: 'kvm' | 'soft', mode: 'ipi' | 'msi'): Promise<number> {
  const elf = await buildVmmGuest('bench-irq');
  const vm = Vm.create({ backend, memorySize: 32 * 1024 * 1024 });
  try {
    vm.createVcpu();
    loadMultiboot(vm, elf, mode);
    const marks: { v: number; ns: bigint }[] = [];
    let msiAddr = 0;
    await vm.run((e) => {
      if (e.kind !== 'inout' || e.in) return;
      if (e.port === 0x520) marks.push({ v: e.value, ns: process.hrtime.bigint() });
      else if (e.port === 0x524) msiAddr = e.value;
      else if (e.port === 0x528) vm.msi(msiAddr, e.value);
      else if (e.port === 0xf4) return 'stop';
    });
    const secs = Number(marks[1]!.ns - marks[0]!.ns) / 1e9;
    return marks[1]!.v / secs;
  } finally {
    vm.destroy();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const p = probeBackends();
  const backends: ('kvm' | 'soft')[] = [];
  if (p.kvmOpens) backends.push('kvm');
  if (p.softBuilt) backends.push('soft');
  const rows: string[][] = [['backend', 'measure', 'value', 'ratio']];
  const reps = quick ? 1 : 3;
  for (const b of backends) {
    const n = b === 'kvm' ? (quick ? 5000 : 20000) : quick ? 20000 : 200000;
    const ts: number[] = [];
    const tsHop: number[] = [];
    const vmm: number[] = [];
    const none: number[] = [];
    for (let r = 0; r < reps; r++) {
      ts.push(await timeLoop(b, 'ts', n));
      tsHop.push(await timeLoop(b, 'ts', n, 20));
      vmm.push(await timeLoop(b, 'vmm', n));
      none.push(await timeLoop(b, 'none', n * 10));
    }
    const tsNs = median(ts);
    const hopNs = median(tsHop);
    const vmmNs = median(vmm);
    rows.push([b, 'port exit handled in TypeScript (ns/exit)', tsNs.toFixed(0), (tsNs / vmmNs).toFixed(1) + 'x vs in-vmm']);
    rows.push([b, '  same, exitSpinMicros 20 (ns/exit)', hopNs.toFixed(0), (hopNs / tsNs).toFixed(2) + 'x vs default']);
    rows.push([b, 'port exit handled in the vmm (ns/exit)', vmmNs.toFixed(0), '1.0x']);
    rows.push([b, 'guest loop without I/O (ns/iteration)', median(none).toFixed(1), '']);
    const ipi = await irqRate(b, 'ipi');
    const msi = await irqRate(b, 'msi');
    rows.push([b, 'self-IPIs delivered per second (in-vmm)', ipi.toFixed(0), (ipi / msi).toFixed(1) + 'x vs via TS']);
    rows.push([b, 'MSIs requested and delivered through TypeScript /s', msi.toFixed(0), '1.0x']);
  }
  if (backends.length === 0) console.log(`no backend available: ${p.kvmDetail}`);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
}

await main();
