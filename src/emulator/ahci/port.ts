/**
 * One AHCI port with its drive (bhyve pci_ahci.c ahci_port_*, ahci_handle_*;
 * bhyve-userland.md §6.7): port registers, COMRESET through SCTL.DET, the command engine
 * (CI/SACT slots processed while PxCMD.ST is set), FIS delivery into the received-FIS
 * area, ATA commands for disks and the PACKET command for the CD drive.
 *
 * Completion follows bhyve: a normal command ends with a D2H register FIS (DHRS), an NCQ
 * command is acknowledged at issue (D2H without interrupt, CI cleared) and ends with a
 * Set Device Bits FIS clearing its SACT bit; PIO data commands first send a PIO Setup FIS.
 * A failing command leaves its CI bit set, sets TFES and waits for the driver to stop
 * the port (bhyve's waitforclear). Guest-supplied tables are validated (command.ts);
 * a command whose tables are not guest RAM is aborted. Data moves directly between the
 * block backend and guest memory. Clearing ST or a reset bumps a generation so that
 * late completions are dropped.
 */
import type { BlockBackend } from '../backends/block/backend.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { Logger } from '../log.js';
import { atapiCommand, SENSE_NONE, type SenseState } from './atapi.js';
import { copyToPrd, isNcq, isRegisterH2D, lbaAndCount, prdViews, readSlot, writtenPrd, type SlotCommand } from './command.js';
import { identifyDisk, identifyPacket, type IdentifyStrings } from './identify.js';
import * as H from './index.js';

export interface PortHost {
  /** The port's PxIS/PxIE changed: recompute the HBA interrupt. */
  portInterrupt(port: number): void;
  /** Slots offered in CAP.NCS. */
  readonly slots: number;
}

const LBA48_COMMANDS = new Set([H.ATA_READ48, H.ATA_READ_DMA48, H.ATA_READ_MUL48, H.ATA_WRITE48, H.ATA_WRITE_DMA48, H.ATA_WRITE_MUL48, H.ATA_READ_VERIFY48]);
const READS = new Set([H.ATA_READ, H.ATA_READ48, H.ATA_READ_MUL, H.ATA_READ_MUL48, H.ATA_READ_DMA, H.ATA_READ_DMA48, H.ATA_READ_FPDMA_QUEUED]);
const WRITES = new Set([H.ATA_WRITE, H.ATA_WRITE48, H.ATA_WRITE_MUL, H.ATA_WRITE_MUL48, H.ATA_WRITE_DMA, H.ATA_WRITE_DMA48, H.ATA_WRITE_FPDMA_QUEUED]);
const PIO = new Set([H.ATA_READ, H.ATA_READ48, H.ATA_READ_MUL, H.ATA_READ_MUL48, H.ATA_WRITE, H.ATA_WRITE48, H.ATA_WRITE_MUL, H.ATA_WRITE_MUL48]);
const NOOPS = new Set([H.ATA_STANDBY_CMD, H.ATA_STANDBY_IMMEDIATE, H.ATA_IDLE_CMD, H.ATA_IDLE_IMMEDIATE, H.ATA_SLEEP, H.ATA_READ_VERIFY, H.ATA_READ_VERIFY48]);
const OK = H.ATA_S_READY | H.ATA_S_DSC;
const ABORT = (H.ATA_E_ABORT << 8) | H.ATA_S_READY | H.ATA_S_ERROR;

export class AhciPort {
  clb = 0;
  clbu = 0;
  fb = 0;
  fbu = 0;
  is = 0;
  ie = 0;
  cmd = 0;
  tfd = 0;
  sig = 0xffffffff;
  ssts = 0;
  sctl = 0;
  serr = 0;
  sact = 0;
  ci = 0;
  sntf = 0;
  fbs = 0;
  private pending = 0;
  private waitForClear = false;
  private generation = 0;
  private multSectors = 128;
  private xferMode = 0x46; // UDMA6
  private readonly sense: SenseState = { senseKey: SENSE_NONE, asc: 0 };
  private softReset = false;
  inFlight = 0;

  constructor(
    readonly index: number,
    private readonly mem: GuestMemory,
    private readonly host: PortHost,
    private readonly log: Logger,
    readonly drive: { backend: BlockBackend; atapi: boolean; strings: IdentifyStrings } | undefined,
  ) {
    if (drive?.atapi) this.cmd |= H.AHCI_P_CMD_ATAPI;
    this.reset();
  }

  private get clbAddr(): number {
    return this.clbu * 0x1_0000_0000 + this.clb;
  }
  private get fbAddr(): number {
    return this.fbu * 0x1_0000_0000 + this.fb;
  }

  /** ahci_port_reset: what COMRESET and HBA reset do to the port. */
  reset(): void {
    this.generation++;
    this.serr = 0;
    this.sact = 0;
    this.xferMode = 0x46;
    this.multSectors = 128;
    if (!this.drive) {
      this.ssts = 0; // no device
      this.sig = 0xffffffff;
      this.tfd = 0x7f;
      return;
    }
    this.ssts = H.ATA_SS_DET_PHY_ONLINE | H.ATA_SS_IPM_ACTIVE | ((this.sctl & 0xf0) !== 0 ? this.sctl & 0xf0 : H.ATA_SS_SPD_GEN3);
    this.tfd = (1 << 8) | H.ATA_S_DSC | H.ATA_S_READY;
    this.sig = this.drive.atapi ? H.ATA_SIGNATURE_ATAPI : H.ATA_SIGNATURE_DISK;
    this.writeResetFis();
  }

  /** HBA reset (GHC.HR): registers to their defaults, then a port reset. */
  hbaReset(): void {
    this.clb = this.clbu = this.fb = this.fbu = 0;
    this.is = this.ie = 0;
    this.cmd = this.drive?.atapi ? H.AHCI_P_CMD_ATAPI : 0;
    this.sctl = 0;
    this.ci = 0;
    this.sntf = 0;
    this.pending = 0;
    this.waitForClear = false;
    this.reset();
  }

  // ---- FIS delivery ----

  private writeFis(offset: number, fis: Uint8Array, irqBit: number): void {
    if (this.cmd & H.AHCI_P_CMD_FRE) {
      const at = this.fbAddr + offset;
      if (this.mem.contains(at, fis.length)) this.mem.writeBytes(at, fis);
    }
    if (irqBit && fis[1]! & 0x40) {
      this.is |= irqBit;
      this.host.portInterrupt(this.index);
    }
  }

  private writeResetFis(): void {
    const f = new Uint8Array(20);
    f[0] = H.FIS_TYPE_REGD2H;
    f[2] = this.tfd & 0xff;
    f[3] = (this.tfd >> 8) & 0xff;
    f[4] = 1; // sector number
    f[5] = this.drive?.atapi ? 0x14 : 0;
    f[6] = this.drive?.atapi ? 0xeb : 0;
    f[12] = 1;
    this.writeFis(0x40, f, H.AHCI_P_IX_DHR);
  }

  private d2h(cmd: SlotCommand, tfd: number, count?: number): void {
    const f = new Uint8Array(20);
    f[0] = H.FIS_TYPE_REGD2H;
    f[1] = 0x40;
    f[2] = tfd & 0xff;
    f[3] = (tfd >> 8) & 0xff;
    f.set(cmd.cfis.subarray(4, 11), 4);
    f[12] = count ?? cmd.cfis[12]!;
    f[13] = cmd.cfis[13]!;
    this.tfd = tfd;
    const bit = 1 << cmd.slot;
    this.pending &= ~bit;
    if (tfd & H.ATA_S_ERROR) {
      this.waitForClear = true;
      this.is |= H.AHCI_P_IX_TFE;
    } else this.ci &= ~bit;
    this.writeFis(0x40, f, H.AHCI_P_IX_DHR);
  }

  /** NCQ: acknowledge the command at issue (BSY cleared, CI bit released, no interrupt). */
  private d2hNcq(slot: number): void {
    const f = new Uint8Array(20);
    f[0] = H.FIS_TYPE_REGD2H;
    f[2] = OK;
    this.tfd = OK;
    this.ci &= ~(1 << slot);
    this.writeFis(0x40, f, 0);
  }

  private sdb(cmd: SlotCommand, tfd: number): void {
    const f = new Uint8Array(8);
    f[0] = H.FIS_TYPE_SETDEVBITS;
    f[1] = 0x40;
    f[2] = tfd & 0x77;
    f[3] = (tfd >> 8) & 0xff;
    const bit = 1 << cmd.slot;
    new DataView(f.buffer).setUint32(4, bit >>> 0, true);
    this.pending &= ~bit;
    this.sact &= ~bit;
    this.tfd = tfd;
    if (tfd & H.ATA_S_ERROR) {
      this.waitForClear = true;
      this.is |= H.AHCI_P_IX_TFE;
    }
    this.writeFis(0x58, f, H.AHCI_P_IX_SDB);
  }

  private pioSetup(len: number, toHost: boolean): void {
    const f = new Uint8Array(20);
    f[0] = H.FIS_TYPE_PIOSETUP;
    f[1] = toHost ? 0x20 : 0;
    f[2] = OK;
    new DataView(f.buffer).setUint16(16, len & 0xffff, true);
    this.writeFis(0x20, f, 0);
  }

  private setPrdbc(cmd: SlotCommand, n: number): void {
    this.mem.write32(cmd.headerAddr + 4, n);
  }

  private complete(cmd: SlotCommand, tfd: number, count?: number): void {
    if (isNcq(cmd.cfis[2]!)) this.sdb(cmd, tfd);
    else this.d2h(cmd, tfd, count);
  }

  // ---- register access ----

  read(off: number): number {
    switch (off) {
      case H.AHCI_P_CLB:
        return this.clb;
      case H.AHCI_P_CLBU:
        return this.clbu;
      case H.AHCI_P_FB:
        return this.fb;
      case H.AHCI_P_FBU:
        return this.fbu;
      case H.AHCI_P_IS:
        return this.is >>> 0;
      case H.AHCI_P_IE:
        return this.ie;
      case H.AHCI_P_CMD:
        return this.cmd >>> 0;
      case H.AHCI_P_TFD:
        return this.tfd;
      case H.AHCI_P_SIG:
        return this.sig >>> 0;
      case H.AHCI_P_SSTS:
        return this.ssts;
      case H.AHCI_P_SCTL:
        return this.sctl;
      case H.AHCI_P_SERR:
        return this.serr;
      case H.AHCI_P_SACT:
        return this.sact >>> 0;
      case H.AHCI_P_CI:
        return this.ci >>> 0;
      case H.AHCI_P_SNTF:
        return this.sntf;
      case H.AHCI_P_FBS:
        return this.fbs;
      default:
        return 0;
    }
  }

  write(off: number, value: number): void {
    const v = value >>> 0;
    switch (off) {
      case H.AHCI_P_CLB:
        this.clb = v & ~0x3ff;
        break;
      case H.AHCI_P_CLBU:
        this.clbu = v & 0x1fffff;
        break;
      case H.AHCI_P_FB:
        this.fb = v & ~0xff;
        break;
      case H.AHCI_P_FBU:
        this.fbu = v & 0x1fffff;
        break;
      case H.AHCI_P_IS:
        this.is &= ~v;
        this.host.portInterrupt(this.index);
        break;
      case H.AHCI_P_IE:
        this.ie = v & 0xfdc000ff;
        this.host.portInterrupt(this.index);
        break;
      case H.AHCI_P_CMD:
        this.writeCmd(v);
        break;
      case H.AHCI_P_SCTL:
        this.sctl = v;
        if (!(this.cmd & H.AHCI_P_CMD_ST) && (v & H.AHCI_P_SCTL_DET_MASK) === H.AHCI_P_SCTL_COMRESET) this.reset();
        break;
      case H.AHCI_P_SERR:
        this.serr &= ~v;
        break;
      case H.AHCI_P_SACT:
        this.sact |= v;
        break;
      case H.AHCI_P_CI:
        this.ci |= v;
        this.handle();
        break;
      case H.AHCI_P_SNTF:
        this.sntf &= ~v;
        break;
      default:
        break; // TFD, SIG, SSTS, FBS are read-only here
    }
  }

  private writeCmd(v: number): void {
    const writable =
      H.AHCI_P_CMD_ST | H.AHCI_P_CMD_SUD | H.AHCI_P_CMD_POD | H.AHCI_P_CMD_CLO | H.AHCI_P_CMD_FRE | H.AHCI_P_CMD_ATAPI | (0xf << 28) | (1 << 23) | (1 << 25) | (1 << 26) | (1 << 27);
    this.cmd = ((this.cmd & ~writable) | (v & writable)) >>> 0;
    if (!(v & H.AHCI_P_CMD_ST)) this.stop();
    else this.cmd |= H.AHCI_P_CMD_CR;
    if (v & H.AHCI_P_CMD_FRE) this.cmd |= H.AHCI_P_CMD_FR;
    else this.cmd &= ~H.AHCI_P_CMD_FR;
    if (v & H.AHCI_P_CMD_CLO) {
      this.tfd &= ~(H.ATA_S_BUSY | H.ATA_S_DRQ);
      this.cmd &= ~H.AHCI_P_CMD_CLO;
    }
    this.cmd &= ~(0xf << 28); // ICC self-clears
    this.cmd >>>= 0;
    this.handle();
  }

  /** ahci_port_stop: ST cleared — abandon outstanding commands. */
  private stop(): void {
    if (this.pending !== 0) this.generation++;
    this.pending = 0;
    this.cmd &= ~(H.AHCI_P_CMD_CR | H.AHCI_P_CMD_CCS_MASK);
    this.ci = 0;
    this.sact = 0;
    this.waitForClear = false;
  }

  // ---- command engine ----

  private handle(): void {
    if (!(this.cmd & H.AHCI_P_CMD_ST) || this.waitForClear || !this.drive) return;
    const slots = this.host.slots;
    let start = (this.cmd & H.AHCI_P_CMD_CCS_MASK) >>> H.AHCI_P_CMD_CCS_SHIFT;
    for (let k = 0; k < slots && !this.waitForClear; k++) {
      const slot = (start + k) % slots;
      const bit = 1 << slot;
      if (!(this.ci & bit) || this.pending & bit) continue;
      this.cmd = ((this.cmd & ~H.AHCI_P_CMD_CCS_MASK) | (slot << H.AHCI_P_CMD_CCS_SHIFT)) >>> 0;
      this.pending |= bit;
      this.runSlot(slot);
      start = slot;
    }
  }

  private runSlot(slot: number): void {
    const parsed = readSlot(this.mem, this.clbAddr, slot);
    if (parsed.kind !== 'ok') {
      this.log.warn(`ahci port ${this.index} slot ${slot}: ${parsed.reason}`);
      this.pending &= ~(1 << slot);
      this.waitForClear = true;
      this.is |= H.AHCI_P_IX_HBF;
      this.tfd = ABORT;
      this.host.portInterrupt(this.index);
      return;
    }
    const cmd = parsed.cmd;
    const cfis = cmd.cfis;
    if (!isRegisterH2D(cfis)) {
      this.d2h(cmd, ABORT);
      return;
    }
    if (!(cfis[1]! & 0x80)) {
      // Device control FIS: SRST set then cleared resets the device.
      if (cfis[15]! & (1 << 2)) this.softReset = true;
      else if (this.softReset) {
        this.softReset = false;
        this.reset();
      }
      this.pending &= ~(1 << slot);
      this.ci &= ~(1 << slot);
      return;
    }
    if (this.drive!.atapi) this.atapiSlot(cmd);
    else this.ataSlot(cmd);
  }

  private async run(cmd: SlotCommand, op: () => Promise<number>, onDone: (n: number) => void): Promise<void> {
    const gen = this.generation;
    this.inFlight++;
    let n = -1;
    try {
      n = await op();
    } catch (e) {
      this.log.warn(`ahci port ${this.index}: ${(e as Error).message}`);
    }
    this.inFlight--;
    if (gen !== this.generation) return;
    if (n < 0) this.complete(cmd, ABORT);
    else onDone(n);
  }

  private ataSlot(cmd: SlotCommand): void {
    const { cfis } = cmd;
    const command = cfis[2]!;
    const drive = this.drive!;
    const be = drive.backend;
    if (READS.has(command) || WRITES.has(command)) {
      const { lba, count } = lbaAndCount(cfis, LBA48_COMMANDS.has(command));
      const len = count * be.sectorSize;
      const offset = lba * be.sectorSize;
      const ncq = isNcq(command);
      if (ncq && (cfis[12]! >> 3) !== cmd.slot) this.log.warn(`ahci port ${this.index}: NCQ tag ${cfis[12]! >> 3} in slot ${cmd.slot}`);
      if (offset + len > be.size || len > cmd.prdBytes) {
        this.complete(cmd, ABORT);
        return;
      }
      if (ncq) this.d2hNcq(cmd.slot);
      const views = prdViews(this.mem, cmd.prd, len);
      const write = WRITES.has(command);
      void this.run(
        cmd,
        () => (write ? be.write(offset, views) : be.read(offset, views)),
        () => {
          if (!write) writtenPrd(this.mem, cmd.prd, len);
          this.setPrdbc(cmd, len);
          if (PIO.has(command)) this.pioSetup(len, !write);
          this.complete(cmd, OK);
        },
      );
      return;
    }
    switch (command) {
      case H.ATA_ATA_IDENTIFY: {
        const data = identifyDisk(be, drive.strings, { multSectors: this.multSectors, xferMode: this.xferMode });
        this.pioSetup(512, true);
        this.setPrdbc(cmd, copyToPrd(this.mem, cmd.prd, data));
        this.d2h(cmd, OK);
        return;
      }
      case H.ATA_FLUSHCACHE:
      case H.ATA_FLUSHCACHE48:
        void this.run(cmd, () => be.flush().then(() => 0), () => this.d2h(cmd, OK));
        return;
      case H.ATA_SETFEATURES:
        this.setFeatures(cmd);
        return;
      case H.ATA_SET_MULTI: {
        const n = cfis[12]!;
        if (n === 0 || n > 128 || (n & (n - 1)) !== 0) this.d2h(cmd, ABORT);
        else {
          this.multSectors = n;
          this.d2h(cmd, OK);
        }
        return;
      }
      case H.ATA_CHECK_POWER_MODE:
        this.d2h(cmd, OK, 0xff);
        return;
      case H.ATA_READ_LOG_EXT:
      case H.ATA_READ_LOG_DMA_EXT:
        this.readLog(cmd);
        return;
      default:
        if (NOOPS.has(command)) this.d2h(cmd, OK);
        else this.d2h(cmd, ABORT); // NOP, SMART, SECURITY, DSM without TRIM support, unknown
    }
  }

  private setFeatures(cmd: SlotCommand): void {
    const { cfis } = cmd;
    switch (cfis[3]) {
      case 0x02: // write cache on
      case 0x82: // write cache off
      case 0xaa: // read look-ahead on
      case 0x55: // read look-ahead off
      case 0x10: // enable SATA feature
      case 0x90: // disable SATA feature
        this.d2h(cmd, OK);
        return;
      case 0x03: {
        const mode = cfis[12]!;
        const ok = (mode >= 0x08 && mode <= 0x0c) || (mode >= 0x20 && mode <= 0x22) || (mode >= 0x40 && mode <= 0x46) || mode <= 1;
        if (ok) this.xferMode = mode;
        this.d2h(cmd, ok ? OK : ABORT);
        return;
      }
      default:
        this.d2h(cmd, ABORT);
    }
  }

  private readLog(cmd: SlotCommand): void {
    const { cfis } = cmd;
    const log = cfis[4]!;
    const pages = cfis[12]! | (cfis[13]! << 8);
    if (pages === 0 || (log !== 0x00 && log !== 0x10 && log !== 0x13)) {
      this.d2h(cmd, ABORT);
      return;
    }
    const data = new Uint8Array(512 * Math.min(pages, 1));
    if (log === 0x00) {
      data[0] = 1; // log directory version
      data[0x10 * 2] = 1;
      data[0x13 * 2] = 1;
    }
    this.setPrdbc(cmd, copyToPrd(this.mem, cmd.prd, data));
    if (cfis[2] === H.ATA_READ_LOG_EXT) this.pioSetup(data.length, true);
    this.d2h(cmd, OK);
  }

  private atapiSlot(cmd: SlotCommand): void {
    const command = cmd.cfis[2]!;
    const drive = this.drive!;
    if (command === H.ATA_ATAPI_IDENTIFY) {
      this.pioSetup(512, true);
      this.setPrdbc(cmd, copyToPrd(this.mem, cmd.prd, identifyPacket(drive.strings)));
      this.d2h(cmd, OK);
      return;
    }
    if (command !== H.ATA_PACKET_CMD) {
      if (NOOPS.has(command) || command === H.ATA_SETFEATURES) this.d2h(cmd, OK);
      else this.d2h(cmd, ABORT); // IDENTIFY DEVICE etc. on an ATAPI device
      return;
    }
    const dma = (cmd.cfis[3]! & 1) !== 0;
    const finishData = (n: number) => {
      this.sense.senseKey = SENSE_NONE;
      this.sense.asc = 0;
      this.setPrdbc(cmd, n);
      if (!dma && n > 0) this.pioSetup(n, true);
      this.d2h(cmd, OK, 3);
    };
    const out = atapiCommand(cmd.acmd.subarray(0, 12), drive.backend.size, this.sense);
    switch (out.kind) {
      case 'ok':
        finishData(0);
        return;
      case 'data':
        finishData(copyToPrd(this.mem, cmd.prd, out.data));
        return;
      case 'read': {
        const len = Math.min(out.length, cmd.prdBytes);
        const views = prdViews(this.mem, cmd.prd, len);
        void this.run(cmd, () => drive.backend.read(out.offset, views), () => {
          writtenPrd(this.mem, cmd.prd, len);
          finishData(len);
        });
        return;
      }
      case 'check':
        this.sense.senseKey = out.senseKey;
        this.sense.asc = out.asc;
        this.d2h(cmd, (out.senseKey << 12) | H.ATA_S_READY | H.ATA_S_ERROR, 3);
        return;
    }
  }

  /** Resolves once no block I/O is outstanding (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight > 0) await new Promise((r) => setImmediate(r));
  }
}
