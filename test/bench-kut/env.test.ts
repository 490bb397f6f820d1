/** bench/kut env.ts: the environment file, field by field as the harness writes it. */
import { expect, it } from 'vitest';
import { envFileText } from '../../bench/kut/env.js';

it('writes the harness variables with ERRATA_FORCE for TCG', () => {
  const t = envFileText({ qemuVersionLine: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)', kernelRelease: '6.1.0-18-amd64' });
  expect(t.split('\n')).toEqual([
    'TARGET=qemu',
    'QEMU_ACCEL=tcg',
    'QEMU_VERSION_STRING=QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)',
    'QEMU_MAJOR=7',
    'QEMU_MINOR=2',
    'QEMU_MICRO=22',
    'KERNEL_VERSION_STRING=6.1.0-18-amd64',
    'KERNEL_VERSION=6',
    'KERNEL_PATCHLEVEL=1',
    'KERNEL_SUBLEVEL=0',
    'KERNEL_EXTRAVERSION=18',
    'ERRATA_FORCE=y',
    '',
  ]);
});
