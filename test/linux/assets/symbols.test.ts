/** kallsyms parsing and address → symbol lookup (symbols.ts) on a small table. */
import { describe, expect, it } from 'vitest';
import { annotateAddresses, parseKallsyms, Symbolizer } from './symbols.js';

const TABLE = `ffffffff81000000 T _text
ffffffff81000000 T startup_64
ffffffff81000070 T secondary_startup_64
ffffffff81001000 D some_data
ffffffff81002000 t helper
ffffffff81002040 T next_fn
0000000000000000 A fixed_percpu_data
garbage line
ffffffffc0001000 t virtio_dev_probe	[virtio]
ffffffffc0001200 t virtio_dev_remove	[virtio]
`;

describe('Symbolizer', () => {
  const s = new Symbolizer(parseKallsyms(TABLE));
  it('keeps code symbols and names offsets within their function', () => {
    expect(s.lookup(0xffffffff81000010n)).toMatch(/^(_text|startup_64)\+0x10\/0x70$/);
    expect(s.lookup(0xffffffff81000070n)).toBe('secondary_startup_64+0x0/0x1f90');
    expect(s.lookup(0xffffffff8100203fn)).toBe('helper+0x3f/0x40');
    expect(s.lookup(0xffffffffc0001004n)).toBe('virtio_dev_probe+0x4/0x200 [virtio]');
  });
  it('answers undefined outside the table', () => {
    expect(s.lookup(0xffffffff80000000n)).toBeUndefined();
    expect(s.lookup(0xffffffffc0001200n + 0x200000n)).toBeUndefined();
  });
  it('finds addresses by name', () => {
    expect(s.address('next_fn')).toBe(0xffffffff81002040n);
    expect(s.address('some_data')).toBeUndefined();
  });
  it('annotates kernel addresses in a log', () => {
    expect(annotateAddresses('triple fault at RIP=0xffffffff81002010, rsp ffffffff80000100', s)).toBe(
      'triple fault at RIP=0xffffffff81002010 <helper+0x10/0x40>, rsp ffffffff80000100',
    );
  });
});
