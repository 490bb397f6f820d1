// The 9P reply writer grows its buffer while a message is built: every field written on
// the growth boundary must land in the new buffer (a Tread reply of more than the initial
// 256 bytes on a fresh session once answered EIO because the data went to the old one).
import { describe, expect, it } from 'vitest';
import { Reader, Writer } from '../../../../src/emulator/virtio/9p/protocol.js';

describe('9P Writer growth', () => {
  it('keeps every field when the buffer grows under it', () => {
    const data = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7) & 0xff);
    const w = new Writer().reset(117, 3);
    w.u32(data.length).bytes(data);
    const out = w.finish();
    expect(out.length).toBe(11 + 1024);
    const r = new Reader(out);
    expect([r.u32(), r.u8(), r.u16(), r.u32()]).toEqual([1035, 117, 3, 1024]);
    expect(Buffer.from(out.subarray(11)).equals(Buffer.from(data))).toBe(true);
  });

  it('grows on every field width and on strings', () => {
    for (let pad = 240; pad < 264; pad++) {
      const w = new Writer().reset(1, 1);
      w.bytes(new Uint8Array(pad - 7));
      w.u8(0xab).u16(0xcdef).u32(0x12345678).u64(0x1122334455667788n).str('x'.repeat(300));
      const r = new Reader(w.finish());
      r.u32();
      r.u8();
      r.u16();
      for (let i = 7; i < pad; i++) r.u8();
      expect([r.u8(), r.u16(), r.u32(), r.u64(), r.str()]).toEqual([0xab, 0xcdef, 0x12345678, 0x1122334455667788n, 'x'.repeat(300)]);
    }
  });
});
