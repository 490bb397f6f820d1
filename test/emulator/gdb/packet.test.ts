// GDB remote protocol framing (src/emulator/gdb/packet.ts) and hex codecs (hex.ts):
// checksums, escapes, acks, Ctrl-C, split and garbage input, oversized packets.
import { describe, expect, it } from 'vitest';
import { MAX_PACKET, PacketReader, encodePacket } from '../../../src/emulator/gdb/packet.js';
import { fromHex, fromHexLE, parseHexInt, parseHexNumber, toHex, toHexLE } from '../../../src/emulator/gdb/hex.js';

const frame = (payload: string): string => encodePacket(payload).toString('latin1');

describe('packet framing', () => {
  it('frames with the modulo-256 checksum', () => {
    expect(frame('OK')).toBe('$OK#9a');
    expect(frame('')).toBe('$#00');
    expect(frame('qSupported')).toBe('$qSupported#37');
  });

  it('escapes $ # } * in replies and the reader undoes it', () => {
    const raw = Buffer.from([0x24, 0x23, 0x7d, 0x2a, 0x41]);
    const enc = encodePacket(raw);
    expect(enc.toString('latin1').startsWith('$}\x04}\x03}]}\x0aA#')).toBe(true);
    const evs = new PacketReader().push(enc);
    expect(evs).toEqual([{ kind: 'packet', data: raw }]);
  });

  it('decodes packets, acks, nacks and Ctrl-C, across chunk boundaries', () => {
    const r = new PacketReader();
    const input = Buffer.from('+$g#67-\x03$m10,4#2ejunk+');
    const evs = [...input].flatMap((b) => r.push(Uint8Array.of(b)));
    expect(evs.map((e) => (e.kind === 'packet' ? `p:${e.data.toString()}` : e.kind))).toEqual([
      'ack', 'p:g', 'nack', 'interrupt', 'p:m10,4', 'ack',
    ]);
  });

  it('reports bad checksums and non-hex checksum digits', () => {
    const r = new PacketReader();
    expect(r.push(Buffer.from('$g#00'))).toEqual([{ kind: 'bad-checksum' }]);
    expect(r.push(Buffer.from('$g#zz'))).toEqual([{ kind: 'bad-checksum' }]);
    expect(r.push(Buffer.from('$g#67'))).toEqual([{ kind: 'packet', data: Buffer.from('g') }]);
  });

  it('restarts on a $ inside a packet and accepts upper-case checksums', () => {
    const r = new PacketReader();
    expect(r.push(Buffer.from('$gar$?#3F'))).toEqual([{ kind: 'packet', data: Buffer.from('?') }]);
  });

  it('drops an oversized packet once and recovers', () => {
    const r = new PacketReader();
    const big = Buffer.concat([Buffer.from('$'), Buffer.alloc(MAX_PACKET + 100, 0x61), Buffer.from('#00$g#67')]);
    expect(r.push(big)).toEqual([{ kind: 'oversized' }, { kind: 'packet', data: Buffer.from('g') }]);
  });
});

describe('hex codecs', () => {
  it('round-trips bytes and little-endian values', () => {
    expect(toHex(Uint8Array.of(0, 0xab, 0x10))).toBe('00ab10');
    expect(fromHex('00AB10')).toEqual(Uint8Array.of(0, 0xab, 0x10));
    expect(toHexLE(0x1122334455667788n, 8)).toBe('8877665544332211');
    expect(fromHexLE('8877665544332211', 8)).toBe(0x1122334455667788n);
    expect(toHexLE(-1n, 4)).toBe('ffffffff');
  });

  it('rejects malformed input instead of guessing', () => {
    expect(fromHex('abc')).toBeUndefined();
    expect(fromHex('zz')).toBeUndefined();
    expect(fromHexLE('1234', 4)).toBeUndefined();
    expect(parseHexNumber('')).toBeUndefined();
    expect(parseHexNumber('-1')).toBeUndefined();
    expect(parseHexNumber('1'.repeat(17))).toBeUndefined();
    expect(parseHexNumber('ffffffffffffffff')).toBe(0xffffffffffffffffn);
    expect(parseHexInt('100', 0xff)).toBeUndefined();
    expect(parseHexInt('ff', 0xff)).toBe(255);
  });
});
