/**
 * CPU lists as libvirt's virBitmapParse reads them (cases checked against libvirt 9.0's
 * test driver): blanks, item order, the 16384-CPU limit, and what is refused.
 */
import { describe, expect, it } from 'vitest';
import { formatCpuList, parseCpuList } from '../../src/xml/domain/cpu.js';

describe('CPU lists (virBitmapParse)', () => {
  it('reads what libvirt reads', () => {
    expect(parseCpuList('0-3,^2,8')).toEqual([0, 1, 3, 8]);
    expect(parseCpuList(' 2 , 3 ')).toEqual([2, 3]);
    expect(parseCpuList('0 - 3')).toEqual([0, 1, 2, 3]);
    expect(parseCpuList('1,')).toEqual([1]);
    // items apply in order: a later range sets what an earlier ^N cleared
    expect(parseCpuList('^1,0-3')).toEqual([0, 1, 2, 3]);
    expect(parseCpuList('16383')).toEqual([16383]);
    expect(parseCpuList('^0')).toEqual([]);
    expect(formatCpuList(parseCpuList('8,0-3,9,^2')!)).toBe('0-1,3,8-9');
  });
  it('refuses what libvirt refuses', () => {
    for (const bad of ['', ' ', '16384', '0-3,^1-2', '3-1', 'a', '1;2', ',1', '1,,2', '-1', '^', '0-', '99999999999999999999']) {
      expect(parseCpuList(bad), bad).toBeNull();
    }
  });
});
