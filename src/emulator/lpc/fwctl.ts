/**
 * bhyve's own firmware interface `fwctl` (`lpc.fwcfg=bhyve`, set up when a boot ROM is
 * used; amd64/fwctl.c; bhyve-userland.md §5.8), read by bhyve's UEFI port for `hw.ncpu`.
 *
 * Ports 0x510 (16-bit write of 0 resets to identification; 32-bit writes carry a request)
 * and 0x511 (8-bit reads return "BHYV" during identification; 32-bit reads return the
 * response). Request: size (≥ 12, bytes, header included), op, txid, then payload words.
 * Response: length, op, txid, error, payload words. Ops: GET (3) and GET_LEN (4) of an
 * OID name; everything else answers ENOENT. Unlike bhyve, an undersized request is
 * answered with an error instead of exiting the process, and the OID is read as a
 * NUL-terminated string of at most 80 bytes.
 */
import type { BusDevice } from '../bus/range.js';

export const FWCTL_OUT = 0x510;
export const FWCTL_IN = 0x511;
export const OP_NULL = 1;
export const OP_ECHO = 2;
export const OP_GET = 3;
export const OP_GET_LEN = 4;
export const OP_SET = 5;
const ENOENT = 2;
const E2BIG = 7;
const EINVAL = 22;
const FGET_STRSZ = 80;
const SIG = [0x42, 0x48, 0x59, 0x56]; // "BHYV"

const enum State {
  Ident,
  Req,
  Resp,
}

export class Fwctl {
  private state = State.Ident;
  private identIdx = 0;
  private req = { count: 0, size: 0, type: 0, txid: 0, data: [] as number[], error: 0 };
  private resp: { words: number[]; pos: number } | undefined;
  private readonly oids = new Map<string, Uint8Array>();

  constructor(ncpus: number) {
    const v = new Uint8Array(4);
    new DataView(v.buffer).setInt32(0, ncpus, true);
    this.oids.set('hw.ncpu', v);
  }

  private reset(): void {
    this.state = State.Ident;
    this.identIdx = 0;
    this.req = { count: 0, size: 0, type: 0, txid: 0, data: [], error: 0 };
    this.resp = undefined;
  }

  private finishRequest(): void {
    const r = this.req;
    let error = r.error;
    let payload = new Uint8Array(0);
    if (!error && (r.type === OP_GET || r.type === OP_GET_LEN)) {
      const bytes = new Uint8Array(r.data.length * 4);
      const dv = new DataView(bytes.buffer);
      r.data.forEach((w, i) => dv.setUint32(i * 4, w, true));
      const nul = bytes.indexOf(0);
      const name = Buffer.from(bytes.subarray(0, nul < 0 ? bytes.length : nul)).toString('latin1');
      const val = this.oids.get(name);
      if (!val) error = ENOENT;
      else if (r.type === OP_GET_LEN) {
        payload = new Uint8Array(8);
        new DataView(payload.buffer).setBigUint64(0, BigInt(val.length), true);
      } else {
        payload = new Uint8Array(8 + val.length);
        new DataView(payload.buffer).setBigUint64(0, BigInt(val.length), true);
        payload.set(val, 8);
      }
    } else if (!error) error = ENOENT;
    const padded = Math.ceil(payload.length / 4) * 4;
    const words = [16 + padded, r.type, r.txid, error];
    const p = new Uint8Array(padded);
    p.set(payload);
    const dv = new DataView(p.buffer);
    for (let i = 0; i < padded; i += 4) words.push(dv.getUint32(i, true));
    this.resp = { words, pos: 0 };
    this.state = State.Resp;
  }

  private requestWord(v: number): void {
    const r = this.req;
    switch (r.count) {
      case 0:
        r.size = v;
        if (v < 12) r.error = EINVAL;
        r.count = 1;
        return;
      case 1:
        r.type = v;
        r.count++;
        return;
      case 2: {
        r.txid = v;
        r.count++;
        const dataSize = r.size >= 12 ? r.size - 12 : 0;
        if ((r.type === OP_GET || r.type === OP_GET_LEN) && dataSize > FGET_STRSZ && !r.error) r.error = E2BIG;
        r.size = dataSize;
        if (dataSize === 0) this.finishRequest();
        return;
      }
      default:
        if (r.data.length * 4 < FGET_STRSZ) r.data.push(v >>> 0);
        r.size = r.size <= 4 ? 0 : r.size - 4;
        if (r.size === 0) this.finishRequest();
    }
  }

  readonly ports: BusDevice = {
    name: 'fwctl',
    accepts: (offset, size) => (offset === 0 && size !== 1 ? true : offset <= 1 && (size === 1 || size === 4)),
    read: (_offset, size) => {
      if (size === 1) {
        if (this.state !== State.Ident) return 0xff;
        const v = SIG[this.identIdx++]!;
        if (this.identIdx >= SIG.length) this.state = State.Req;
        return v;
      }
      if (size === 4 && this.state === State.Resp && this.resp) {
        const v = this.resp.words[this.resp.pos++] ?? 0;
        if (this.resp.pos >= this.resp.words.length) {
          this.resp = undefined;
          this.req = { count: 0, size: 0, type: 0, txid: 0, data: [], error: 0 };
          this.state = State.Req;
        }
        return v >>> 0;
      }
      return size === 2 ? 0xffff : 0xffffffff;
    },
    write: (offset, size, value) => {
      if (offset !== 0) return;
      if (size === 2 && value === 0) this.reset();
      else if (size === 4 && this.state === State.Req) this.requestWord(value >>> 0);
    },
  };
}
