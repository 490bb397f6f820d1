// Runs a guest program on the soft CPU (test machine runner) and on QEMU TCG, the
// cross-check the guest tests compare against.
import { spawn } from 'node:child_process';

export interface GuestResult {
  status: number;
  stdout: string;
  stderr: string;
}

function runProcess(cmd: string, args: string[], timeoutMs: number): Promise<GuestResult> {
  return new Promise((resolveP, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveP({ status: code ?? (signal ? 128 : 255), stdout, stderr });
    });
  });
}

/** Runs a guest on the soft CPU; `cmdline` becomes the Multiboot command line. */
export function runSoft(runner: string, elf: string, cmdline: string[] = [], timeoutMs = 60_000): Promise<GuestResult> {
  return runProcess(runner, [elf, ...cmdline], timeoutMs);
}

/** Runs a guest under QEMU TCG the way kvm-unit-tests runs its tests (pc machine). */
export function runQemu(elf: string, cmdline: string[] = [], timeoutMs = 60_000): Promise<GuestResult> {
  const append = cmdline.length ? ['-append', cmdline.join(' ')] : [];
  return runProcess(
    'qemu-system-x86_64',
    ['-accel', 'tcg', '-kernel', elf, ...append, '-serial', 'stdio', '-display', 'none', '-nodefaults',
      '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-device', 'pc-testdev', '-m', '128'],
    timeoutMs,
  );
}

/** Serial output with CR/LF normalised (QEMU's UART and ours both pass bytes through). */
export function normalise(s: string): string {
  return s.replace(/\r\n/g, '\n');
}

// Checks of the sse guest that QEMU 7.2's TCG gets wrong (the soft CPU follows the hardware here; the fpdiff
// differential test checks the same behaviour against the host processor itself):
export const QEMU_TCG_DEVIATIONS: Record<string, string> = {
  'denormal operand kept, DE': 'TCG does not set MXCSR.DE for denormal SSE operands',
  'fnstenv masks all exceptions': 'TCG FNSTENV does not mask all x87 exceptions afterwards',
  'fnstenv FIP/FOP/FDP': 'TCG does not record the x87 last opcode (FOP is always 0)',
  'unmasked divide by zero: #XM': 'TCG never delivers #XM for unmasked SIMD exceptions',
  'without CR4.OSXMMEXCPT: #UD': 'TCG never delivers the #UD of an unmasked SIMD exception',
};
