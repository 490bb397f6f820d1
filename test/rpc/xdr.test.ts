import { describe, expect, it } from 'vitest';
import { XdrDecodeError, XdrEncodeError, XdrReader, XdrWriter } from '../../src/rpc/xdr.js';
import {
  xarray,
  xbool,
  xcharString,
  xfixedCharString,
  xhyper,
  xint,
  xopaque,
  xoptional,
  xstring,
  xstruct,
  xuchar,
  xuhyper,
  xuint,
  xunion,
  type Codec,
} from '../../src/rpc/xdr-codec.js';
import { decodePayload } from '../../src/rpc/packet.js';
import { remoteProcsByNumber, nodeInfoRet } from '../../src/rpc/protocol/remote-procedures.js';
import { remoteError } from '../../src/rpc/protocol/remote-types.js';
import { mutate, prng, xdrShapedBytes } from './prng.js';

function roundTrip<T>(c: Codec<T>, v: T): { bytes: Buffer; back: T } {
  const w = new XdrWriter(8);
  c.encode(w, v);
  const bytes = w.copy();
  return { bytes, back: decodePayload(c, bytes) };
}

describe('XDR primitives', () => {
  it('encodes integers big-endian in 4 and 8 bytes', () => {
    const w = new XdrWriter(4);
    w.int(-2);
    w.uint(0xfffffffe);
    w.hyper(-3n);
    w.uhyper(0xffffffffffffffffn);
    expect(w.copy().toString('hex')).toBe('fffffffe' + 'fffffffe' + 'fffffffffffffffd' + 'ffffffffffffffff');
  });

  it('pads strings and opaque data to 4 bytes with zeros', () => {
    const { bytes } = roundTrip(xstring(10), 'abcde');
    expect(bytes.toString('hex')).toBe('00000005' + '6162636465' + '000000');
    const o = roundTrip(xopaque(8), Buffer.from([1, 2, 3, 4]));
    expect(o.bytes.toString('hex')).toBe('00000004' + '01020304');
  });

  it('round-trips UTF-8 strings', () => {
    expect(roundTrip(xstring(100), 'héllo ✓').back).toBe('héllo ✓');
  });

  it('refuses values out of range when encoding', () => {
    const w = new XdrWriter();
    expect(() => w.int(2 ** 31)).toThrow(XdrEncodeError);
    expect(() => w.uint(-1)).toThrow(XdrEncodeError);
    expect(() => w.int(1.5)).toThrow(XdrEncodeError);
    expect(() => xstring(3).encode(w, 'abcd')).toThrow(XdrEncodeError);
    expect(() => xuchar.encode(w, 256)).toThrow(XdrEncodeError);
  });

  it('reports truncation with the offset', () => {
    const r = new XdrReader(Buffer.from([0, 0, 0]));
    expect(() => r.int()).toThrow(XdrDecodeError);
    try {
      new XdrReader(Buffer.from('0000000a41', 'hex')).string(100);
    } catch (e) {
      expect(e).toBeInstanceOf(XdrDecodeError);
      expect((e as XdrDecodeError).offset).toBe(4);
    }
  });

  it('refuses lengths above the declared maximum before reading', () => {
    const huge = Buffer.from('ffffffff', 'hex');
    expect(() => decodePayload(xstring(4194304), huge)).toThrow(/exceeds maximum/);
    expect(() => decodePayload(xopaque(16), Buffer.from('00000011', 'hex'))).toThrow(/exceeds maximum/);
  });

  it('refuses array counts that cannot fit in the bytes left', () => {
    const claim = Buffer.from('00004000', 'hex'); // 16384 items, no data
    expect(() => decodePayload(xarray(xint, 16384), claim)).toThrow(/cannot fit/);
  });

  it('refuses bools other than 0 and 1 and trailing bytes', () => {
    expect(() => decodePayload(xbool, Buffer.from('00000002', 'hex'))).toThrow(/bool/);
    expect(() => decodePayload(xint, Buffer.from('0000000100', 'hex'))).toThrow(/trailing/);
  });

  it('encodes optional data as a bool then the value', () => {
    const c = xoptional(xint);
    expect(roundTrip(c, null).bytes.toString('hex')).toBe('00000000');
    expect(roundTrip(c, 7).bytes.toString('hex')).toBe('00000001' + '00000007');
  });

  it('encodes char arrays one XDR char (4 bytes) per byte, NUL included', () => {
    const { bytes, back } = roundTrip(xcharString(10), 'ab');
    expect(bytes.toString('hex')).toBe('00000003' + '00000061' + '00000062' + '00000000');
    expect(back).toBe('ab');
    const fixed = roundTrip(xfixedCharString(4), 'x8');
    expect(fixed.bytes.length).toBe(16);
    expect(fixed.back).toBe('x8');
  });

  it('round-trips structs, unions and remote_error', () => {
    const s = xstruct({ a: xint, b: xstring(10), c: xarray(xuhyper, 4), d: xhyper, e: xuint });
    const v = { a: -1, b: 'x', c: [1n, 2n], d: -5n, e: 9 };
    expect(roundTrip(s, v).back).toEqual(v);
    const u = xunion({ 1: xint, 7: xstring(5) });
    expect(roundTrip(u, { type: 7, value: 'hi' }).back).toEqual({ type: 7, value: 'hi' });
    expect(() => decodePayload(u, Buffer.from('0000000200000000', 'hex'))).toThrow(XdrDecodeError);
    const err = {
      code: 42, domain: 12, message: 'Domain not found', level: 2, dom: null,
      str1: 'x', str2: null, str3: null, int1: -1, int2: -1, net: null,
    };
    expect(roundTrip(remoteError, err).back).toEqual(err);
  });

  it('matches the size of virNodeInfo on the wire (32 chars as 128 bytes)', () => {
    const { bytes } = roundTrip(nodeInfoRet, {
      model: 'x86_64', memory: 1n, cpus: 1, mhz: 1, nodes: 1, sockets: 1, cores: 1, threads: 1,
    });
    expect(bytes.length).toBe(32 * 4 + 8 + 6 * 4);
  });
});

/** Decodes `bytes` with `c`: returns 'ok' or 'error'; any other exception fails the test. */
function decodeOutcome(c: Codec<unknown>, bytes: Buffer): 'ok' | 'error' {
  try {
    decodePayload(c, bytes);
    return 'ok';
  } catch (e) {
    if (e instanceof XdrDecodeError) return 'error';
    throw e;
  }
}

describe('XDR decoders under hostile input (fuzz)', () => {
  const codecs: Array<[string, Codec<unknown>]> = [['remote_error', remoteError as Codec<unknown>]];
  for (const def of remoteProcsByNumber.values()) {
    codecs.push([`${def.name} args`, def.args], [`${def.name} ret`, def.ret]);
  }

  it('never throws anything but XdrDecodeError, for random and mutated payloads of every procedure', () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261127);
    const rand = prng(seed);
    let ok = 0;
    let errors = 0;
    const t0 = Date.now();
    for (const [name, c] of codecs) {
      const valid: Buffer[] = [];
      for (let i = 0; i < 300; i++) {
        const bytes = xdrShapedBytes(rand, Math.floor(rand() * 24));
        let outcome: 'ok' | 'error';
        try {
          outcome = decodeOutcome(c, bytes);
        } catch (e) {
          throw new Error(`${name}: seed ${seed}: ${(e as Error).stack}`);
        }
        if (outcome === 'ok') {
          ok++;
          valid.push(bytes);
        } else errors++;
      }
      for (const v of valid.slice(0, 20)) {
        for (let i = 0; i < 20; i++) {
          const m = mutate(rand, v);
          try {
            if (decodeOutcome(c, m) === 'ok') ok++;
            else errors++;
          } catch (e) {
            throw new Error(`${name}: seed ${seed}: ${(e as Error).stack}`);
          }
        }
      }
    }
    // Both outcomes must actually have been exercised for the test to mean anything.
    expect(ok).toBeGreaterThan(1000);
    expect(errors).toBeGreaterThan(1000);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('decodes a 32 MiB claim of garbage without allocating it', () => {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(4194304, 0);
    expect(decodeOutcome(xstring(4194304) as Codec<unknown>, b)).toBe('error');
  });
});
