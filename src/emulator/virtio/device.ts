/**
 * What a virtio device model implements, independent of the transport (Virtio 1.2 §2,
 * §5; bhyve virtio.h `virtio_consts`; firecracker VirtioDevice). The PCI transport
 * (pci.ts) owns feature negotiation, queues, status, interrupts and config windows, and
 * calls these hooks; a device never sees a BAR address or PCI register.
 *
 * Lifecycle: `activate()` once the driver set DRIVER_OK (queues are validated, memory is
 * bound); `reset()` when the driver writes status 0 or the device is reset. Before
 * activation a device must not touch guest memory. A device that finds the driver
 * misbehaving calls `ctx.fail(reason)`: the transport sets NEEDS_RESET and raises a
 * configuration interrupt, and the device stops processing until reset.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import type { Virtqueue } from './queue.js';

export interface VirtioActivation {
  memory: GuestMemory;
  queues: Virtqueue[];
  /** Negotiated features (including VIRTIO_F_VERSION_1 when the driver is modern). */
  features: bigint;
  /** Whether the driver uses the modern (1.0) interface. */
  modern: boolean;
  /** Signals used buffers on a queue (honours suppression). */
  notifyQueue(q: Virtqueue): void;
  /** Signals a configuration change. */
  notifyConfig(): void;
  /** Reports a driver error: NEEDS_RESET + configuration interrupt; device goes quiet. */
  fail(reason: string): void;
}

export interface VirtioDevice {
  readonly deviceType: number;
  /** PCI class code for the function (bhyve sets only the class byte). */
  readonly pciClass: number;
  readonly queueSizes: readonly number[];
  /** Bytes of device-specific configuration. */
  readonly configSize: number;
  /** Device feature bits offered (transport bits are added by the transport). */
  features(): bigint;
  readConfig(offset: number, size: number): number;
  writeConfig(offset: number, size: number, value: number): void;
  activate(ctx: VirtioActivation): void;
  reset(): void;
  /** The driver kicked queue `index` (only called while active). */
  queueNotify(index: number): void;
}

/** Little-endian config-space helper for devices whose config is a byte array. */
export function readLE(bytes: Uint8Array, offset: number, size: number): number {
  if (offset < 0 || offset + size > bytes.length) {
    // Reads past the end return zeros (firecracker, and what Linux tolerates).
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (bytes[offset + i] ?? 0);
    return v >>> 0;
  }
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + bytes[offset + i]!;
  return v >>> 0;
}
