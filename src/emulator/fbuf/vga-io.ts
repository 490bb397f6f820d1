/**
 * The legacy VGA register file behind ports 0x3C0–0x3DF for `vga=io` (bhyve vga.c as
 * vga_init(io_only): registers decoded so firmware and Windows find a VGA, no VGA memory
 * and no rendering). Index/data pairs keep what is written: attribute controller
 * (0x3C0 flip-flop, 0x3C1), miscellaneous output (0x3C2 write, 0x3CC read), sequencer
 * (0x3C4/5), DAC mask/index/data (0x3C6–0x3C9, palette of 256 RGB triplets, 6 bits each),
 * graphics controller (0x3CE/F), CRT controller (0x3D4/5 and mono 0x3B4/5 are not
 * decoded), input status 1 (0x3DA, resets the attribute flip-flop; the retrace bits
 * toggle so polling loops end). Pure state machine on (offset, size) accesses.
 */
import type { BusDevice } from '../bus/range.js';

export class VgaIo implements BusDevice {
  readonly name = 'fbuf VGA registers';
  private attrIndex = 0;
  private attrFlip = false;
  private readonly attr = new Uint8Array(0x20);
  private misc = 0x01;
  private seqIndex = 0;
  private readonly seq = new Uint8Array(8);
  private gfxIndex = 0;
  private readonly gfx = new Uint8Array(16);
  private crtcIndex = 0;
  private readonly crtc = new Uint8Array(0x20);
  private dacMask = 0xff;
  private dacRead = 0;
  private dacWrite = 0;
  private dacState = 0;
  private readonly palette = new Uint8Array(256 * 3);
  private retrace = 0;

  accepts(_offset: number, size: number): boolean {
    return size === 1 || size === 2;
  }

  read(offset: number, size: number): number {
    if (size === 2) return this.read8(offset) | (this.read8(offset + 1) << 8);
    return this.read8(offset);
  }

  write(offset: number, size: number, value: number): void {
    this.write8(offset, value & 0xff);
    if (size === 2) this.write8(offset + 1, (value >> 8) & 0xff);
  }

  private read8(off: number): number {
    switch (off) {
      case 0x00:
        return this.attrIndex;
      case 0x01:
        return this.attr[this.attrIndex & 0x1f]!;
      case 0x04:
        return this.seqIndex;
      case 0x05:
        return this.seq[this.seqIndex & 7]!;
      case 0x06:
        return this.dacMask;
      case 0x07:
        return this.dacState;
      case 0x08:
        return this.dacWrite;
      case 0x09: {
        const v = this.palette[this.dacRead * 3 + (this.dacStep % 3)]!;
        this.advanceDac('read');
        return v;
      }
      case 0x0c:
        return this.misc;
      case 0x0e:
        return this.gfxIndex;
      case 0x0f:
        return this.gfx[this.gfxIndex & 0xf]!;
      case 0x14:
        return this.crtcIndex;
      case 0x15:
        return this.crtc[this.crtcIndex & 0x1f]!;
      case 0x1a:
        this.attrFlip = false;
        this.retrace ^= 0x09; // vertical retrace and display-disabled bits toggle
        return this.retrace;
      default:
        return 0xff;
    }
  }

  private dacStep = 0;

  private advanceDac(dir: 'read' | 'write'): void {
    this.dacStep++;
    if (this.dacStep % 3 === 0) {
      if (dir === 'read') this.dacRead = (this.dacRead + 1) & 0xff;
      else this.dacWrite = (this.dacWrite + 1) & 0xff;
    }
  }

  private write8(off: number, v: number): void {
    switch (off) {
      case 0x00:
        if (!this.attrFlip) this.attrIndex = v & 0x3f;
        else this.attr[this.attrIndex & 0x1f] = v;
        this.attrFlip = !this.attrFlip;
        break;
      case 0x02:
        this.misc = v;
        break;
      case 0x04:
        this.seqIndex = v;
        break;
      case 0x05:
        this.seq[this.seqIndex & 7] = v;
        break;
      case 0x06:
        this.dacMask = v;
        break;
      case 0x07:
        this.dacRead = v;
        this.dacStep = 0;
        this.dacState = 0x00;
        break;
      case 0x08:
        this.dacWrite = v;
        this.dacStep = 0;
        this.dacState = 0x03;
        break;
      case 0x09:
        this.palette[this.dacWrite * 3 + (this.dacStep % 3)] = v & 0x3f;
        this.advanceDac('write');
        break;
      case 0x0e:
        this.gfxIndex = v;
        break;
      case 0x0f:
        this.gfx[this.gfxIndex & 0xf] = v;
        break;
      case 0x14:
        this.crtcIndex = v;
        break;
      case 0x15:
        this.crtc[this.crtcIndex & 0x1f] = v;
        break;
      default:
        break;
    }
  }
}
