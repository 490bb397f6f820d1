/** Guest loaders: Linux bzImage, multiboot 1, UEFI boot ROM (table of contents only). */
export { loadLinux, type LinuxBootInput, type LinuxBootResult } from './linux.js';
export { loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC, type MultibootInput, type MultibootResult } from './multiboot.js';
export { prepareBootrom, VarsFlash, type BootromPlan } from './bootrom.js';
export { resetState, flat32State, long64State, type InitialCpuState, type SegmentState } from './cpu-state.js';
export { LoaderError } from './errors.js';
