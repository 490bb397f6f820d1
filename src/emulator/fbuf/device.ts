/**
 * The bhyve framebuffer device (bhyve pci_fbuf.c; bhyve-userland.md §6.0, §6.10):
 * FB5D:40FB, class 03/00 (VGA), BAR0 MEM32 128-byte mode block {fbsize u32, width u16,
 * height u16, depth u16 (32), refresh u16, reserved}, BAR1 MEM32 32 MiB linear 32-bpp
 * framebuffer (B, G, R, X bytes per pixel, stride = width × 4), an MSI capability of 4
 * messages (never raised, as bhyve). The UEFI GOP driver reads the mode block; a guest
 * writing width and height resizes the display (0×0 is bhyve's "VGA mode": the display
 * keeps its last size).
 *
 * The framebuffer is guest memory, as bhyve's VM_FRAMEBUFFER: given a device segment
 * (memory/device-memory.ts) the device keeps it mapped at BAR1's address, so guest loads
 * and stores never leave the CPU and the VNC server reads the same bytes. Where the vmm
 * refuses a mapping change (the soft CPU takes them only while no vCPU runs: a BAR moved or
 * disabled by a running guest), the range falls back to BAR1 exits served from the same
 * buffer, and a mapping the vmm would not remove stays where it was (logged once). Without
 * a segment (unit tests) the buffer is the device's own and every access is an exit.
 * Width and height written outside 640×480..3840×2160 are kept in the block but the display is
 * clamped; accesses past the block are ignored.
 */
import type { GuestConsole } from '../gui/console.js';
import type { Logger } from '../log.js';
import type { DeviceSegment } from '../memory/device-memory.js';
import type { PciDeviceOps, PciFunction } from '../pci/function.js';
import {
  COLS_MAX,
  COLS_MIN,
  DMEMSZ,
  FB_SIZE,
  FBUF_BAR_FB,
  FBUF_BAR_REGS,
  FBUF_PCI_DEVICE,
  FBUF_PCI_VENDOR,
  PCIC_DISPLAY,
  PCIS_DISPLAY_VGA,
  PCI_FBUF_MSI_MSGS,
  ROWS_MAX,
  ROWS_MIN,
} from './regs.js';

export interface Display {
  readonly width: number;
  readonly height: number;
  /** Pixels, 4 bytes each (B, G, R, X), row stride width × 4. */
  readonly pixels: Uint8Array;
}

export class FbufDevice implements PciDeviceOps, Display {
  readonly memory: Uint8Array;
  private readonly regs = new Uint8Array(DMEMSZ);
  private readonly dv = new DataView(this.regs.buffer);
  private shown = { width: 0, height: 0 };
  /** Guest address BAR1 is decoded at (0 while unmapped). */
  mappedAt = 0;
  /** Where the vmm maps the segment (0: nowhere; accesses are BAR1 exits). */
  segmentAt = 0;
  /** The VNC server showing this display, once the model started it. */
  viewer?: { readonly address: { host: string; port: number } };

  constructor(
    readonly pci: PciFunction,
    width: number,
    height: number,
    private readonly console?: GuestConsole,
    private readonly segment?: DeviceSegment,
    private readonly log?: Logger,
  ) {
    if (segment && segment.memory.length < FB_SIZE) throw new RangeError(`fbuf: framebuffer segment of ${segment.memory.length} bytes, need ${FB_SIZE}`);
    this.memory = segment ? segment.memory.subarray(0, FB_SIZE) : new Uint8Array(FB_SIZE);
    pci.attach(this);
    pci.setIds({ vendor: FBUF_PCI_VENDOR, device: FBUF_PCI_DEVICE, classCode: PCIC_DISPLAY, subclass: PCIS_DISPLAY_VGA });
    pci.allocBar(FBUF_BAR_REGS, 'mem32', DMEMSZ);
    pci.allocBar(FBUF_BAR_FB, 'mem32', FB_SIZE);
    pci.addMsiCapability(PCI_FBUF_MSI_MSGS);
    this.dv.setUint32(0, FB_SIZE, true);
    this.dv.setUint16(4, width, true);
    this.dv.setUint16(6, height, true);
    this.dv.setUint16(8, 32, true);
    this.sync();
  }

  get width(): number {
    return this.shown.width;
  }
  get height(): number {
    return this.shown.height;
  }
  get pixels(): Uint8Array {
    return this.memory.subarray(0, this.shown.width * this.shown.height * 4);
  }

  /** Applies the mode block to the display (pci_fbuf_render). */
  private sync(): void {
    const w = this.dv.getUint16(4, true);
    const h = this.dv.getUint16(6, true);
    if (w === 0 && h === 0) return; // VGA mode: the display keeps its size
    const width = Math.max(COLS_MIN, Math.min(COLS_MAX, w));
    const height = Math.max(ROWS_MIN, Math.min(ROWS_MAX, h));
    if (width === this.shown.width && height === this.shown.height) return;
    this.shown = { width, height };
    this.console?.setSize(width, height);
  }

  barRead(bar: number, offset: number, size: number): number {
    if (bar === FBUF_BAR_FB) {
      if (offset + size > FB_SIZE) return 0;
      return size === 1 ? this.memory[offset]! : size === 2 ? this.memory[offset]! | (this.memory[offset + 1]! << 8) : new DataView(this.memory.buffer).getUint32(offset, true);
    }
    if (bar !== FBUF_BAR_REGS || offset + size > DMEMSZ) return 0;
    return size === 1 ? this.dv.getUint8(offset) : size === 2 ? this.dv.getUint16(offset, true) : this.dv.getUint32(offset, true);
  }

  barWrite(bar: number, offset: number, size: number, value: number): void {
    if (bar === FBUF_BAR_FB) {
      if (offset + size > FB_SIZE) return;
      for (let i = 0; i < size; i++) this.memory[offset + i] = (value >>> (8 * i)) & 0xff;
      return;
    }
    if (bar !== FBUF_BAR_REGS || offset + size > DMEMSZ) return;
    if (size === 1) this.dv.setUint8(offset, value);
    else if (size === 2) this.dv.setUint16(offset, value, true);
    else this.dv.setUint32(offset, value >>> 0, true);
    this.sync();
  }

  barMapped(bar: number, mapped: boolean, addr: number): void {
    if (bar !== FBUF_BAR_FB) return;
    this.mappedAt = mapped ? addr : 0;
    if (!this.segment || (mapped && this.segmentAt === addr)) return;
    if (this.segmentAt !== 0) {
      try {
        this.segment.unmap(this.segmentAt);
        this.segmentAt = 0;
      } catch (e) {
        // The old mapping stays (same bytes); a new address is served by exits.
        this.warnOnce(`fbuf: framebuffer stays mapped at 0x${this.segmentAt.toString(16)}: ${(e as Error).message}`);
        return;
      }
    }
    if (!mapped) return;
    try {
      this.segment.map(addr);
      this.segmentAt = addr;
    } catch (e) {
      this.warnOnce(`fbuf: framebuffer at 0x${addr.toString(16)} served through MMIO exits: ${(e as Error).message}`);
    }
  }

  private warned = false;
  private warnOnce(msg: string): void {
    if (this.warned) return;
    this.warned = true;
    this.log?.warn(msg);
  }
}
