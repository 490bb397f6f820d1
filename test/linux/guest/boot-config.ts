/**
 * What a Linux test boot is, independent of the stack that runs it: the kernel command
 * line, memory size, addresses of the guest and of the host-side peer. Both runners
 * (QEMU in qemu-boot.ts, tsvirsh in tsvirt-boot.ts) take a BootSpec, so the two boots the
 * bench compares differ only in the hypervisor.
 *
 * Command line:
 *   console=ttyS0                        COM1 (0x3F8, IRQ 4) is the console on both stacks
 *   earlyprintk=serial,ttyS0,115200      the kernel writes COM1 from its first C code, before
 *                                        the console driver exists: a boot that dies early
 *                                        still says where
 *   nokaslr                              fixed addresses, so a RIP maps to kallsyms names
 *                                        (symbols.ts) without knowing the slide
 *   panic=-1                             a panic reboots at once (QEMU -no-reboot exits,
 *                                        tsbhyve exits 0) instead of hanging until the timeout
 *   tsvirt.ip=, tsvirt.peer=             read by /init
 */

export const GUEST_IP = '10.0.2.15';
export const GUEST_PREFIX = 24;
export const PEER_IP = '10.0.2.2';
export const GUEST_MAC = '52:54:00:12:34:56';
export const PEER_MAC = '52:54:00:00:02:02';
export const MEMORY_MIB = 256;

export interface BootSpec {
  kernel: string;
  initrd: string;
  disk: string;
  vcpus: number;
  memoryMiB: number;
  cmdline: string;
  /** UDP port of the host-side FramePeer on 127.0.0.1. */
  peerPort: number;
  timeoutMs: number;
}

export function guestCmdline(extra: string[] = []): string {
  return [
    'console=ttyS0',
    'earlyprintk=serial,ttyS0,115200',
    'nokaslr',
    'panic=-1',
    `tsvirt.ip=${GUEST_IP}/${GUEST_PREFIX}`,
    `tsvirt.peer=${PEER_IP}`,
    ...extra,
  ].join(' ');
}
