// The COM1 16550 verified by a guest (fixtures/guests/uart): scratch and divisor
// registers, FIFOs, THR-empty and receive interrupts through the I/O APIC; the test types
// lines on the VMM's stdin once the guest says READY and reads the upper-cased echo.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { failures, guestElf, haveQemu, runQemu } from './rig.js';

let elf: string;
beforeAll(async () => {
  elf = await guestElf('uart');
}, 120_000);

const LINES = ['hello tsvirt', 'a line longer than the sixteen-byte FIFO of a 16550, typed at once'];

/** Types LINES[k] after the k-th READY. */
function typist(): (out: string, child: ChildProcessWithoutNullStreams) => void {
  let sent = 0;
  return (out, child) => {
    const ready = out.split('READY\n').length - 1;
    while (sent < ready && sent < LINES.length) child.stdin.write(`${LINES[sent++]}\n`);
  };
}

describe.runIf(haveQemu())('uart guest on QEMU (reference)', () => {
  it('echoes typed lines received by interrupt', async () => {
    const r = await runQemu(elf, [], { append: `lines=${LINES.length}`, interact: typist() });
    expect(failures(r.stdout)).toEqual([]);
    for (const l of LINES) expect(r.stdout).toContain(`ECHO: ${l.toUpperCase()}\n`);
    expect(r.status).toBe(1);
  });
});
