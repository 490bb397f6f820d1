/**
 * bench/gdb/step: what a single step costs the GDB stub's way (mtrap_exit: one exit to
 * TypeScript per instruction), against its peer measured in the same run, a port-I/O exit
 * handled in TypeScript (the same round trip, caused by the guest instead of the vmm).
 *
 * Run: npx vite-node bench/gdb/step.ts [--quick]
 *
 * Guest: real mode, `mov ecx, N ; loop: nop ; dec ecx ; jnz loop ; out 0xE4, al`.
 *  - mtrap: mtrap_exit on, every instruction exits (3 per iteration);
 *  - port exit: the same loop with `out 0x80, al` instead of the NOP and no mtrap (1 exit
 *    per iteration).
 * Both rows print exits per second and µs per exit; the ratio is mtrap / port exit, per
 * backend present (a backend without mtrap_exit says so).
 */
import { Vm, VmmError, probeBackends, type VmExit } from '../../src/emulator/vmm/vmm.js';

const quick = process.argv.includes('--quick');

function code(out: boolean, n: number): number[] {
  const body = out ? [0xe6, 0x80] : [0x90];
  const c = [0x66, 0xb9, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
  const loop = c.length;
  c.push(...body, 0x66, 0x49);
  const jnz = c.length;
  c.push(0x75, (loop - (jnz + 2)) & 0xff, 0xe6, 0xe4, 0xfa, 0xf4);
  return c;
}

async function measure(backend: 'kvm' | 'soft', mtrap: boolean, n: number): Promise<{ exits: number; seconds: number }> {
  const vm = Vm.create({ backend, memorySize: 1 << 20 });
  try {
    const cpu = vm.createVcpu();
    if (mtrap) cpu.setCapability('mtrap_exit', true);
    vm.memory.write(0x1000, Uint8Array.from(code(!mtrap, n)));
    cpu.updateState((s) => {
      s.cs = { ...s.cs, base: 0n, selector: 0 };
      s.rip = 0x1000n;
    });
    let exits = 0;
    const t0 = process.hrtime.bigint();
    await vm.run((e: VmExit) => {
      if (e.kind === 'mtrap' || (e.kind === 'inout' && e.port === 0x80)) exits++;
      if (e.kind === 'inout' && e.port === 0xe4) return 'stop';
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { exits, seconds };
  } finally {
    vm.destroy();
  }
}

const p = probeBackends();
const backends = [...(p.softBuilt ? ['soft' as const] : []), ...(p.kvmOpens ? ['kvm' as const] : [])];
const n = quick ? 2000 : 20000;
console.log('| backend | row | exits | exits/s | µs/exit | ratio (mtrap / port exit) |');
console.log('|---|---|---|---|---|---|');
for (const b of backends) {
  const port = await measure(b, false, n);
  let step: { exits: number; seconds: number } | undefined;
  try {
    step = await measure(b, true, Math.floor(n / 3));
  } catch (e) {
    if (!(e instanceof VmmError)) throw e;
    console.log(`| ${b} | mtrap | - | - | - | ${e.message} |`);
  }
  const row = (name: string, r: { exits: number; seconds: number }, ratio: string) =>
    console.log(`| ${b} | ${name} | ${r.exits} | ${Math.round(r.exits / r.seconds)} | ${((r.seconds * 1e6) / r.exits).toFixed(1)} | ${ratio} |`);
  row('port exit (peer)', port, '1.00');
  if (step) {
    const ratio = (step.seconds / step.exits) / (port.seconds / port.exits);
    row('mtrap single step', step, ratio.toFixed(2));
  }
}
