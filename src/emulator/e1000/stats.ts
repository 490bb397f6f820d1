/**
 * The 82545EM statistics registers (82545EM manual §13.7; bhyve pci_e82545.c keeps the
 * same counters): packets and octets received and transmitted, by size, broadcast and
 * multicast, missed and oversize receives, TSO contexts. Every register clears when read,
 * as the datasheet specifies and as Linux's e1000 driver assumes (it adds each reading to
 * its totals); 64-bit octet counters clear when their high half is read.
 */
import * as R from './regs.js';

/** Index of a frame size in the 64/127/255/511/1023/1522 buckets. */
function sizeIndex(len: number): number {
  if (len <= 64) return 0;
  if (len >= 1024) return 5;
  return 31 - Math.clz32(len) - 5;
}

export class E1000Stats {
  private readonly regs = new Map<number, number>();
  private goodOctetsRx = 0;
  private goodOctetsTx = 0;
  private totalOctetsRx = 0;

  private add(reg: number, n = 1): void {
    this.regs.set(reg, ((this.regs.get(reg) ?? 0) + n) >>> 0);
  }

  /** A frame handed to the guest (`len` includes padding and FCS). */
  received(frame: Uint8Array, len: number): void {
    this.add(R.E1000_GPRC);
    this.add(R.E1000_TPR);
    this.add(R.E1000_PRC64 + 4 * sizeIndex(len));
    if (frame[0]! & 1) this.add(frame.subarray(0, 6).every((b) => b === 0xff) ? R.E1000_BPRC : R.E1000_MPRC);
    this.goodOctetsRx += len;
    this.totalOctetsRx += len;
  }

  transmitted(frame: Uint8Array): void {
    this.add(R.E1000_GPTC);
    this.add(R.E1000_TPT);
    this.add(R.E1000_PTC64 + 4 * sizeIndex(frame.length + R.ETHER_CRC_LEN));
    if (frame[0]! & 1) this.add(frame.subarray(0, 6).every((b) => b === 0xff) ? R.E1000_BPTC : R.E1000_MPTC);
    this.goodOctetsTx += frame.length + R.ETHER_CRC_LEN;
  }

  missed(len: number): void {
    this.add(R.E1000_MPC);
    this.add(R.E1000_TPR);
    this.totalOctetsRx += len;
  }

  oversize(len: number): void {
    this.add(R.E1000_ROC);
    this.add(R.E1000_TPR);
    this.totalOctetsRx += len;
  }

  tsoContexts(n: number): void {
    if (n) this.add(R.E1000_TSCTC, n);
  }

  /** Reads (and clears) one statistics register. */
  read(off: number): number {
    const split = (v: number, high: boolean) => (high ? Math.floor(v / 0x1_0000_0000) >>> 0 : v % 0x1_0000_0000);
    switch (off) {
      case R.E1000_GORCL:
        return split(this.goodOctetsRx, false);
      case R.E1000_GORCH: {
        const v = split(this.goodOctetsRx, true);
        this.goodOctetsRx = 0;
        return v;
      }
      case R.E1000_GOTCL:
      case R.E1000_TOTL:
        return split(this.goodOctetsTx, false);
      case R.E1000_GOTCH:
      case R.E1000_TOTH: {
        const v = split(this.goodOctetsTx, true);
        this.goodOctetsTx = 0;
        return v;
      }
      case R.E1000_TORL:
        return split(this.totalOctetsRx, false);
      case R.E1000_TORH: {
        const v = split(this.totalOctetsRx, true);
        this.totalOctetsRx = 0;
        return v;
      }
      default: {
        const v = this.regs.get(off) ?? 0;
        this.regs.delete(off);
        return v;
      }
    }
  }
}
