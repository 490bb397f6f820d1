/**
 * One debugger connection of the GDB stub: the remote protocol's commands (gdb manual,
 * "Remote Protocol": Packets, General Query Packets, Stop Reply Packets) over a
 * {@link GdbTarget}, in all-stop mode as bhyve's gdb.c serves them.
 *
 * Supported: `?`, g/G, p/P (registers.ts layout, offered as target.xml through
 * qXfer:features:read), m/M/X (guest-virtual addresses through the current thread's page
 * tables, paging.ts), c/C/s/S and vCont (c, C, s, S), Z0/z0 software breakpoints
 * (breakpoints.ts; stop replies say `swbreak`, RIP at the INT3 as bhyve reports it),
 * H/T/qC/qfThreadInfo/qsThreadInfo/qThreadExtraInfo with vCPU n as thread n+1,
 * qSupported, QStartNoAckMode, qAttached, Ctrl-C (stops every vCPU), D (detach: breakpoints
 * removed, the VM runs on) and k/vKill (the VM ends). Anything else gets the empty reply
 * ("not supported"); hardware breakpoints and watchpoints (Z1-Z4) are among those.
 *
 * Stopping: the VM-wide pause of the vmm parks every vCPU; a breakpoint or step exit asks
 * for it from the exit handler and the stop reply goes out once all vCPUs are parked. A
 * single step sets mtrap_exit on the stepped vCPU only, but the other vCPUs run too while
 * it steps (the vmm cannot resume one vCPU alone); gdb's all-stop mode copes with that.
 *
 * Input is hostile: every argument is parsed strictly, a malformed or out-of-range one gets
 * an `E` reply (E01 syntax, E02 unknown thread, E03 refused, E14 bad address), register and
 * memory requests while the VM runs get E03, and memory replies are bounded by the packet
 * size. Nothing a debugger sends can throw out of this class.
 */
import type { Logger } from '../log.js';
import type { VcpuState } from '../vmm/registers.js';
import { Breakpoints } from './breakpoints.js';
import { fromHex, parseHexInt, parseHexNumber, toHex } from './hex.js';
import { MAX_PACKET, PacketReader, encodePacket } from './packet.js';
import { linearToPhysical, type PhysReader } from './paging.js';
import { REGISTERS, decodeAll, decodeOne, encodeAll, encodeRegister, targetXml } from './registers.js';
import type { DebugEvent, GdbTarget, StopCause } from './target.js';

/** Where replies go. */
export interface SessionIo {
  write(bytes: Uint8Array): void;
  close(): void;
}

const E_SYNTAX = 'E01';
const E_THREAD = 'E02';
const E_REFUSED = 'E03';
const E_FAULT = 'E14';

/** Largest m reply: two hex digits per byte inside one packet. */
const MAX_READ = (MAX_PACKET - 16) >> 1;

const SIGNAL: Record<StopCause, string> = { initial: '05', breakpoint: '05', step: '05', interrupt: '02' };

type RunState = 'stopped' | 'running' | 'stopping';

/** The exit interceptor's answer for an INT3: hand it to the guest, or keep the vCPU at it. */
export type BptAnswer = 'pass' | 'hold';

export class GdbSession {
  private readonly reader = new PacketReader();
  private readonly bps: Breakpoints;
  private state: RunState = 'stopped';
  private stop: { vcpu: number; cause: StopCause } = { vcpu: 0, cause: 'initial' };
  /** Thread for g/G/p/P/m/M and Z (vCPU index). */
  private gThread = 0;
  /** Thread for c/s: a vCPU index, or -1 = all. */
  private cThread = -1;
  private stepping: number | undefined;
  private noAck = false;
  private lastReply: Buffer | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly xml = Buffer.from(targetXml(), 'utf8');
  private readonly word = new Uint8Array(8);

  constructor(
    private readonly target: GdbTarget,
    private readonly io: SessionIo,
    private readonly log: Logger,
  ) {
    this.bps = new Breakpoints(target);
  }

  /** The debugger connected: stop the VM and take over INT3s. */
  attach(): Promise<void> {
    this.state = 'stopping';
    this.stop = { vcpu: 0, cause: 'initial' };
    return (this.queue = this.queue.then(async () => {
      await this.target.pause();
      this.target.setBreakpointExits(true);
      this.state = 'stopped';
    }));
  }

  /** Bytes from the debugger. */
  receive(chunk: Uint8Array): void {
    for (const ev of this.reader.push(chunk)) {
      switch (ev.kind) {
        case 'ack':
          break;
        case 'nack':
          if (this.lastReply) this.io.write(this.lastReply);
          break;
        case 'bad-checksum':
          if (!this.noAck) this.io.write(Buffer.from('-'));
          break;
        case 'oversized':
          if (!this.noAck) this.io.write(Buffer.from('+'));
          this.reply(E_SYNTAX);
          break;
        case 'interrupt':
          if (this.state === 'running') this.requestStop(this.stepping ?? this.stop.vcpu, 'interrupt');
          break;
        case 'packet': {
          if (!this.noAck) this.io.write(Buffer.from('+'));
          const data = ev.data;
          this.queue = this.queue.then(() => this.handle(data)).catch((err: unknown) => {
            this.log.warn(`gdb: ${(err as Error).message}`);
            this.reply(E_REFUSED);
          });
          break;
        }
      }
    }
  }

  /**
   * An exit of interest, on the JavaScript thread while its vCPU waits (vm-target.ts).
   * Breakpoints the session planted stop the VM ('hold': the vCPU stays at the INT3 and
   * meets it again when resumed, unless gdb removed it); any other INT3 is the guest's own.
   */
  onDebugEvent(ev: DebugEvent): BptAnswer {
    const live = this.state === 'running' && !this.closed;
    if (ev.kind === 'mtrap') {
      if (live && this.stepping === ev.vcpu) this.requestStop(ev.vcpu, 'step');
      return 'hold';
    }
    if (this.bps.size === 0) return 'pass';
    const gpa = this.translate(this.target.getState(ev.vcpu), ev.rip);
    if (gpa === undefined || !this.bps.has(gpa)) return 'pass';
    // Also while detaching: the INT3 is still ours until detach() removed it.
    if (live) this.requestStop(ev.vcpu, 'breakpoint');
    return 'hold';
  }

  /** The VM ended with a process status while the debugger waited: W reply, then close. */
  vmEnded(status: number): void {
    if (this.closed) return;
    if (this.state !== 'stopped') this.reply(`W${(status & 0xff).toString(16).padStart(2, '0')}`);
    this.close();
  }

  /**
   * The connection is gone (or the debugger detached): stop the VM if it runs, remove the
   * breakpoints and the debug exits, and let it run on its own.
   */
  async detach(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.state !== 'stopped') await this.target.pause();
      this.bps.clear();
      if (this.stepping !== undefined) this.target.setStepping(this.stepping, false);
      this.stepping = undefined;
      this.target.setBreakpointExits(false);
      this.state = 'running';
      this.target.resume();
    } catch (err) {
      this.log.warn(`gdb: detaching: ${(err as Error).message}`);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- stopping and resuming --------------------------------------------------------------

  private requestStop(vcpu: number, cause: StopCause): void {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.stop = { vcpu, cause };
    this.gThread = vcpu;
    this.target.pause().then(
      () => {
        if (this.stepping !== undefined) this.target.setStepping(this.stepping, false);
        this.stepping = undefined;
        if (this.closed) return;  // detach() finishes the job
        this.state = 'stopped';
        this.reply(this.stopReply());
      },
      (err: unknown) => this.log.warn(`gdb: stopping the VM: ${(err as Error).message}`),
    );
  }

  private resume(step: number | undefined): void {
    if (step !== undefined) {
      this.target.setStepping(step, true);
      this.stepping = step;
    }
    this.state = 'running';
    this.target.resume();
  }

  private stopReply(): string {
    const { vcpu, cause } = this.stop;
    const tid = (vcpu + 1).toString(16);
    return `T${SIGNAL[cause]}thread:${tid};${cause === 'breakpoint' ? 'swbreak:;' : ''}`;
  }

  // ---- replies ------------------------------------------------------------------------------

  private reply(payload: string | Uint8Array): void {
    if (this.closed) return;
    const frame = encodePacket(payload);
    this.lastReply = frame;
    this.io.write(frame);
  }

  private close(): void {
    this.closed = true;
    this.io.close();
  }

  // ---- commands -------------------------------------------------------------------------------

  private async handle(data: Buffer): Promise<void> {
    if (this.closed) return;
    const pkt = data.toString('latin1');
    const r = await this.dispatch(pkt, data);
    if (r !== undefined) this.reply(r);
  }

  /** Returns the reply, or undefined when none is due now (resume, kill). */
  private async dispatch(pkt: string, raw: Buffer): Promise<string | Uint8Array | undefined> {
    const cmd = pkt[0];
    const stoppedOnly = 'gGpPmMXcCsSZzvD'.includes(cmd ?? '') && !pkt.startsWith('vCont?') && !pkt.startsWith('vMustReplyEmpty') && !pkt.startsWith('vKill');
    if (stoppedOnly && this.state !== 'stopped') return E_REFUSED;
    switch (cmd) {
      case '?':
        return this.stopReply();
      case 'g':
        return encodeAll(this.target.getState(this.gThread));
      case 'G':
        return this.writeAll(pkt.slice(1));
      case 'p':
        return this.readOne(pkt.slice(1));
      case 'P':
        return this.writeOne(pkt.slice(1));
      case 'm':
        return this.readMemory(pkt.slice(1));
      case 'M':
        return this.writeMemoryHex(pkt.slice(1));
      case 'X':
        return this.writeMemoryBinary(raw);
      case 'c':
      case 'C':
      case 's':
      case 'S':
        return this.legacyResume(pkt);
      case 'v':
        return this.vPacket(pkt);
      case 'Z':
      case 'z':
        return this.breakpoint(pkt);
      case 'H':
        return this.setThread(pkt);
      case 'T':
        return this.threadAlive(pkt.slice(1)) === undefined ? E_THREAD : 'OK';
      case 'q':
        return this.query(pkt);
      case 'Q':
        if (pkt === 'QStartNoAckMode') {
          this.reply('OK');
          this.noAck = true;
          return undefined;
        }
        return '';
      case 'D':
        this.reply('OK');
        await this.detach();
        this.io.close();
        return undefined;
      case 'k':
        this.killVm();
        return undefined;
      default:
        return '';
    }
  }

  private killVm(): void {
    this.bps.clear();
    this.closed = true;
    this.target.kill();
    this.io.close();
  }

  private threadAlive(s: string): number | undefined {
    const n = parseHexInt(s, 0xffff);
    if (n === undefined || n < 1 || n > this.target.vcpus) return undefined;
    return n - 1;
  }

  private setThread(pkt: string): string {
    const which = pkt[1];
    const arg = pkt.slice(2);
    if (which !== 'g' && which !== 'c') return E_SYNTAX;
    let vcpu: number;
    if (arg === '-1') vcpu = -1;
    else if (arg === '0') vcpu = this.stop.vcpu;
    else {
      const v = this.threadAlive(arg);
      if (v === undefined) return E_THREAD;
      vcpu = v;
    }
    if (which === 'g') this.gThread = vcpu < 0 ? this.stop.vcpu : vcpu;
    else this.cThread = vcpu;
    return 'OK';
  }

  private writeAll(hex: string): string {
    const s = this.target.getState(this.gThread);
    const err = decodeAll(hex, s);
    if (err) return E_SYNTAX;
    this.target.setState(this.gThread, s);
    return 'OK';
  }

  private readOne(arg: string): string {
    const n = parseHexInt(arg, 0xffff);
    if (n === undefined) return E_SYNTAX;
    const def = REGISTERS[n];
    if (!def) return E_SYNTAX;
    return encodeRegister(def, this.target.getState(this.gThread));
  }

  private writeOne(arg: string): string {
    const eq = arg.indexOf('=');
    const n = eq < 0 ? undefined : parseHexInt(arg.slice(0, eq), 0xffff);
    if (n === undefined) return E_SYNTAX;
    const s = this.target.getState(this.gThread);
    const def = REGISTERS[n];
    if (!def) return E_SYNTAX;
    if (!def.set) return E_REFUSED;
    if (decodeOne(n, arg.slice(eq + 1), s)) return E_SYNTAX;
    this.target.setState(this.gThread, s);
    return 'OK';
  }

  // ---- memory ---------------------------------------------------------------------------------

  private readonly readPhysWord: PhysReader = (gpa, size) => {
    if (gpa > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    const buf = this.word.subarray(0, size);
    if (!this.target.readPhys(Number(gpa), buf)) return undefined;
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[i]!);
    return v;
  };

  private translate(s: VcpuState, la: bigint): number | undefined {
    const t = linearToPhysical(s, la, this.readPhysWord);
    if (!t.ok || t.gpa > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    return Number(t.gpa);
  }

  /** Parses `addr,len`; undefined when malformed. */
  private addrLen(s: string, maxLen: number): { addr: bigint; len: number } | undefined {
    const comma = s.indexOf(',');
    if (comma < 0) return undefined;
    const addr = parseHexNumber(s.slice(0, comma));
    const len = parseHexInt(s.slice(comma + 1), maxLen);
    if (addr === undefined || len === undefined) return undefined;
    return { addr, len };
  }

  /**
   * Visits [addr, addr+len) page by page in guest-physical terms; stops at the first page
   * that does not translate or is not RAM. Returns how many bytes were visited.
   */
  private eachPage(addr: bigint, len: number, visit: (gpa: number, off: number, n: number) => boolean): number {
    const s = this.target.getState(this.gThread);
    let done = 0;
    while (done < len) {
      const la = BigInt.asUintN(64, addr + BigInt(done));
      const gpa = this.translate(s, la);
      if (gpa === undefined) break;
      const n = Math.min(len - done, 0x1000 - Number(la & 0xfffn));
      if (!visit(gpa, done, n)) break;
      done += n;
    }
    return done;
  }

  private readMemory(arg: string): string {
    const a = this.addrLen(arg, 0xffffffff);
    if (!a) return E_SYNTAX;
    const len = Math.min(a.len, MAX_READ);
    if (len === 0) return '';
    const out = new Uint8Array(len);
    const done = this.eachPage(a.addr, len, (gpa, off, n) => {
      const part = out.subarray(off, off + n);
      if (!this.target.readPhys(gpa, part)) return false;
      this.bps.overlay(gpa, part);
      return true;
    });
    return done === 0 ? E_FAULT : toHex(out.subarray(0, done));
  }

  private writeMemory(addr: bigint, bytes: Uint8Array): string {
    const done = this.eachPage(addr, bytes.length, (gpa, off, n) => this.bps.write(gpa, bytes.subarray(off, off + n)));
    return done === bytes.length ? 'OK' : E_FAULT;
  }

  private writeMemoryHex(arg: string): string {
    const colon = arg.indexOf(':');
    if (colon < 0) return E_SYNTAX;
    const a = this.addrLen(arg.slice(0, colon), MAX_PACKET);
    const bytes = fromHex(arg.slice(colon + 1));
    if (!a || !bytes || bytes.length !== a.len) return E_SYNTAX;
    return this.writeMemory(a.addr, bytes);
  }

  private writeMemoryBinary(raw: Buffer): string {
    const colon = raw.indexOf(0x3a);
    if (colon < 0) return E_SYNTAX;
    const a = this.addrLen(raw.subarray(1, colon).toString('latin1'), MAX_PACKET);
    const bytes = raw.subarray(colon + 1);
    if (!a || bytes.length !== a.len) return E_SYNTAX;
    if (a.len === 0) return 'OK';  // gdb's probe for X support
    return this.writeMemory(a.addr, bytes);
  }

  // ---- breakpoints -----------------------------------------------------------------------------

  private breakpoint(pkt: string): string {
    const parts = pkt.slice(1).split(',');
    if (parts[0] !== '0') return '';  // hardware breakpoints and watchpoints: not supported
    if (parts.length < 3) return E_SYNTAX;
    const addr = parseHexNumber(parts[1]!);
    const kind = parseHexInt(parts[2]!.split(';')[0]!, 16);
    if (addr === undefined || kind === undefined) return E_SYNTAX;
    const gpa = this.translate(this.target.getState(this.gThread), addr);
    if (gpa === undefined) return E_FAULT;
    const r = pkt[0] === 'Z' ? this.bps.insert(gpa) : this.bps.remove(gpa);
    if (!r.ok) {
      this.log.warn(`gdb: breakpoint at 0x${addr.toString(16)}: ${r.error}`);
      return E_FAULT;
    }
    return 'OK';
  }

  // ---- resuming -------------------------------------------------------------------------------

  /** c [addr], C sig[;addr], s [addr], S sig[;addr]: the signal is ignored (as bhyve). */
  private legacyResume(pkt: string): string | undefined {
    const step = pkt[0] === 's' || pkt[0] === 'S';
    let arg = pkt.slice(1);
    if (pkt[0] === 'C' || pkt[0] === 'S') {
      const semi = arg.indexOf(';');
      if (parseHexInt(semi < 0 ? arg : arg.slice(0, semi), 0xff) === undefined) return E_SYNTAX;
      arg = semi < 0 ? '' : arg.slice(semi + 1);
    }
    const vcpu = this.cThread < 0 ? this.stop.vcpu : this.cThread;
    if (arg !== '') {
      const addr = parseHexNumber(arg);
      if (addr === undefined) return E_SYNTAX;
      const s = this.target.getState(vcpu);
      s.rip = addr;
      this.target.setState(vcpu, s);
    }
    this.resume(step ? vcpu : undefined);
    return undefined;
  }

  private vPacket(pkt: string): string | undefined {
    if (pkt === 'vCont?') return 'vCont;c;C;s;S';
    if (pkt.startsWith('vCont;')) return this.vCont(pkt.slice(6));
    if (pkt === 'vKill' || pkt.startsWith('vKill;')) {
      this.reply('OK');
      this.killVm();
      return undefined;
    }
    return '';  // vMustReplyEmpty, vFile, vRun, ...: not supported
  }

  private vCont(actions: string): string | undefined {
    let step: number | undefined;
    for (const action of actions.split(';')) {
      const colon = action.indexOf(':');
      const verb = colon < 0 ? action : action.slice(0, colon);
      const tid = colon < 0 ? undefined : action.slice(colon + 1);
      let kind: string;
      if (verb === 'c' || verb === 's') kind = verb;
      else if (/^[CS][0-9a-fA-F]{2}$/.test(verb)) kind = verb[0]!.toLowerCase();
      else return E_SYNTAX;
      let vcpu: number | undefined;
      if (tid !== undefined && tid !== '-1') {
        vcpu = tid === '0' ? this.stop.vcpu : this.threadAlive(tid);
        if (vcpu === undefined) return E_THREAD;
      }
      if (kind === 's' && step === undefined) step = vcpu ?? this.stop.vcpu;
    }
    this.resume(step);
    return undefined;
  }

  // ---- queries --------------------------------------------------------------------------------

  private query(pkt: string): string | Uint8Array {
    if (pkt.startsWith('qSupported')) {
      return `PacketSize=${MAX_PACKET.toString(16)};qXfer:features:read+;swbreak+;QStartNoAckMode+;vContSupported+`;
    }
    if (pkt.startsWith('qXfer:features:read:')) return this.xfer(pkt.slice('qXfer:features:read:'.length));
    if (pkt === 'qC') return `QC${(this.stop.vcpu + 1).toString(16)}`;
    if (pkt === 'qfThreadInfo') {
      const ids: string[] = [];
      for (let i = 1; i <= this.target.vcpus; i++) ids.push(i.toString(16));
      return `m${ids.join(',')}`;
    }
    if (pkt === 'qsThreadInfo') return 'l';
    if (pkt.startsWith('qThreadExtraInfo,')) {
      const v = this.threadAlive(pkt.slice('qThreadExtraInfo,'.length));
      if (v === undefined) return E_THREAD;
      return toHex(Buffer.from(`vCPU ${v}`, 'latin1'));
    }
    if (pkt === 'qAttached' || pkt.startsWith('qAttached:')) return '1';
    if (pkt === 'qSymbol::') return 'OK';
    return '';
  }

  private xfer(arg: string): string | Uint8Array {
    const colon = arg.indexOf(':');
    if (colon < 0) return E_SYNTAX;
    const annex = arg.slice(0, colon);
    const range = this.addrLen(arg.slice(colon + 1), 0xffffffff);
    if (!range) return E_SYNTAX;
    if (annex !== 'target.xml') return 'E00';
    if (range.addr > BigInt(this.xml.length)) return E_SYNTAX;
    const off = Number(range.addr);
    const len = Math.min(range.len, MAX_PACKET - 16);
    const part = this.xml.subarray(off, off + len);
    const more = off + part.length < this.xml.length;
    return Buffer.concat([Buffer.from(more ? 'm' : 'l'), part]);
  }
}
