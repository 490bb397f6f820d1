// The COM1 16550 verified by a guest (fixtures/guests/uart): scratch and divisor
// registers, FIFOs, THR-empty and receive interrupts through the I/O APIC; the test types
// lines on the VMM's stdin once the guest says READY and reads the upper-cased echo on
// stdout (tsbhyve's `-l com1,stdio`, QEMU's `-serial stdio`).
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, failures, guestElf, removeBuild } from './rig.js';

let elf: string;
beforeAll(async () => {
  elf = await guestElf('uart');
}, 120_000);
afterAll(() => removeBuild());

const LINES = ['hello tsvirt', 'a line longer than the sixteen-byte FIFO of a 16550, typed at once'];

/** Types LINES[k] after the k-th READY. */
function typist(): (out: string, child: ChildProcessWithoutNullStreams) => void {
  let sent = 0;
  return (out, child) => {
    const ready = out.split('READY\n').length - 1;
    while (sent < ready && sent < LINES.length) child.stdin.write(`${LINES[sent++]}\n`);
  };
}

for (const engine of ENGINES) {
  describe.runIf(engine.enabled)(`uart guest on ${engine.title}`, () => {
    it('echoes typed lines received by interrupt', async () => {
      const r = await engine.run(elf, { qemu: [], tsbhyve: [] }, { append: `lines=${LINES.length}`, interact: typist() });
      expect(failures(r.stdout)).toEqual([]);
      for (const l of LINES) expect(r.stdout).toContain(`ECHO: ${l.toUpperCase()}\n`);
      expect(r.stdout).toContain('COM1 IRQ 4 -> I/O APIC pin 4\n');
      expect(r.status).toBe(1);
    }, 60_000);
  });
}
