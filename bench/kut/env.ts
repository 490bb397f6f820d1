/**
 * The environment file kvm-unit-tests' harness gives each test as its `-initrd` (the one
 * multiboot module; scripts/arch-run.bash initrd_create, env_params, env_errata): KEY=VALUE
 * lines the test copies into `environ`. TARGET=qemu, QEMU_ACCEL=tcg, the QEMU version from
 * `qemu -h`'s first line, the host kernel version fields, and ERRATA_FORCE=y (forced with
 * ACCEL=tcg). The same file goes to tsbhyve and to QEMU so both guests see the same inputs.
 */

export interface EnvInputs {
  /** First line of `qemu-system-x86_64 -h` ("QEMU emulator version 7.2.x (...)"), '' if no QEMU. */
  qemuVersionLine: string;
  /** `uname -r`. */
  kernelRelease: string;
}

export function envFileText(i: EnvInputs): string {
  const lines: string[] = ['TARGET=qemu', 'QEMU_ACCEL=tcg'];
  const parts = i.qemuVersionLine.split(/[ .]/);
  lines.push(`QEMU_VERSION_STRING=${i.qemuVersionLine}`);
  lines.push(`QEMU_MAJOR=${parts[3] ?? ''}`, `QEMU_MINOR=${parts[4] ?? ''}`, `QEMU_MICRO=${parts[5] ?? ''}`);
  const [version = '', patch = '', ...rest] = i.kernelRelease.split('.');
  const [sub = '', extra = ''] = rest.join('.').split('-');
  const digits = (s: string) => /^\d+/.exec(s)?.[0] ?? '';
  lines.push(`KERNEL_VERSION_STRING=${i.kernelRelease}`, `KERNEL_VERSION=${version}`, `KERNEL_PATCHLEVEL=${patch}`);
  lines.push(`KERNEL_SUBLEVEL=${digits(sub)}`, `KERNEL_EXTRAVERSION=${digits(extra)}`);
  lines.push('ERRATA_FORCE=y');
  return `${lines.join('\n')}\n`;
}
