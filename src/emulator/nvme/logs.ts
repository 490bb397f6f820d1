/**
 * Log pages and SMART accounting of the bhyve NVMe controller (NVM Express 1.4 §5.14.1:
 * Error Information 01h, SMART / Health Information 02h, Firmware Slot Information 03h,
 * Changed Namespace List 04h; bhyve pci_nvme.c pci_nvme_init_logpages,
 * pci_nvme_stats_write_read_update, nvme_opc_get_log_page).
 *
 * Health reports 296 K, 100 % spare with a 10 % threshold, one power cycle, and data
 * units (thousands of 512-byte units, rounded up) and command counts for reads and writes.
 * Counters are numbers: they stay exact up to 2^53, far beyond a VM's lifetime.
 */
import {
  NVME_ERROR_LOG_SIZE,
  NVME_FIRMWARE_LOG_SIZE,
  NVME_HEALTH_LOG_SIZE,
  NVME_LOG_CHANGED_NAMESPACE,
  NVME_LOG_ERROR,
  NVME_LOG_FIRMWARE_SLOT,
  NVME_LOG_HEALTH_INFORMATION,
  NVME_NS_LIST_SIZE,
  NVME_TEMPERATURE,
} from './regs.js';

export class NvmeLogs {
  criticalWarning = 0;
  private readUnits = 0;
  private writeUnits = 0;
  private readRemainder = 999;
  private writeRemainder = 999;
  private readCommands = 0;
  private writeCommands = 0;
  /** Changed namespace list: NSIDs reported once, then cleared by reading the page. */
  private changedNs: number[] = [];

  /** Accounts a completed read or write (bytes counted only on success). */
  account(write: boolean, bytes: number, ok: boolean): void {
    if (write) {
      this.writeCommands++;
      if (!ok) return;
      this.writeRemainder += Math.floor(bytes / 512);
      this.writeUnits += Math.floor(this.writeRemainder / 1000);
      this.writeRemainder %= 1000;
    } else {
      this.readCommands++;
      if (!ok) return;
      this.readRemainder += Math.floor(bytes / 512);
      this.readUnits += Math.floor(this.readRemainder / 1000);
      this.readRemainder %= 1000;
    }
  }

  namespaceChanged(nsid: number): void {
    if (!this.changedNs.includes(nsid)) this.changedNs.push(nsid);
  }

  /** The page for log identifier `lid`, or undefined when the page is not supported. */
  page(lid: number): Uint8Array | undefined {
    switch (lid) {
      case NVME_LOG_ERROR:
        return new Uint8Array(NVME_ERROR_LOG_SIZE);
      case NVME_LOG_HEALTH_INFORMATION:
        return this.health();
      case NVME_LOG_FIRMWARE_SLOT: {
        const b = new Uint8Array(NVME_FIRMWARE_LOG_SIZE);
        b[0] = 1; // AFI: slot 1 active
        b.set([0x31, 0x2e, 0x30, 0x20, 0x20, 0x20, 0x20, 0x20], 8); // FRS1 "1.0"
        return b;
      }
      case NVME_LOG_CHANGED_NAMESPACE: {
        const b = new Uint8Array(NVME_NS_LIST_SIZE);
        const dv = new DataView(b.buffer);
        this.changedNs.slice(0, 1024).forEach((ns, i) => dv.setUint32(4 * i, ns, true));
        this.changedNs = [];
        return b;
      }
      default:
        return undefined;
    }
  }

  private health(): Uint8Array {
    const b = new Uint8Array(NVME_HEALTH_LOG_SIZE);
    const dv = new DataView(b.buffer);
    b[0] = this.criticalWarning;
    dv.setUint16(1, NVME_TEMPERATURE, true);
    b[3] = 100; // available spare
    b[4] = 10; // available spare threshold
    const u128 = (off: number, v: number) => dv.setBigUint64(off, BigInt(v), true);
    u128(32, this.readUnits);
    u128(48, this.writeUnits);
    u128(64, this.readCommands);
    u128(80, this.writeCommands);
    u128(112, 1); // power cycles
    return b;
  }
}
