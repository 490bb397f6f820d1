/**
 * Device memory the vmm maps into the guest in place of MMIO exits (bhyve's
 * vm_alloc_memseg/vm_mmap_memseg for VM_FRAMEBUFFER; bhyve-userland.md §4.3, §5.1): a
 * device gets a segment's bytes as one zero-copy buffer and asks for it to be mapped at the
 * guest-physical address its BAR decodes, so guest loads and stores reach the bytes
 * directly while the device model reads the same buffer.
 *
 * Interface only; the vmm binding (run/vmm-adapter.ts) implements it. map/unmap throw
 * when the backend refuses (the soft CPU takes mapping changes only while no vCPU runs);
 * devices then fall back to serving the range through MMIO exits.
 */

/** One device segment: its bytes, and where the guest sees them. */
export interface DeviceSegment {
  readonly memory: Uint8Array;
  /** Maps the whole segment at `gpa` (writable). Throws when the vmm refuses. */
  map(gpa: number): void;
  /** Removes the mapping at `gpa`. Throws when the vmm refuses. */
  unmap(gpa: number): void;
}

export interface DeviceMemory {
  /** Allocates the framebuffer segment (one per VM). */
  framebuffer(size: number): DeviceSegment;
}
