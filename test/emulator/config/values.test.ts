import { describe, expect, it } from 'vitest';
import { expandNumber, parseHex, parseInteger, parseMemSize, scanInteger } from '../../../src/emulator/config/values.js';

describe('config values', () => {
  it('scans like strtol with base 0', () => {
    expect(scanInteger('0x1F')).toEqual({ value: 31, consumed: 4 });
    expect(scanInteger('017')).toEqual({ value: 15, consumed: 3 });
    expect(scanInteger('  -42z')).toEqual({ value: -42, consumed: 5 });
    expect(scanInteger('0xg')).toEqual({ value: 0, consumed: 1 });
    expect(scanInteger('abc')).toEqual({ value: 0, consumed: 0 });
    expect(scanInteger('ff', 16)).toEqual({ value: 255, consumed: 2 });
  });

  it('accepts only whole-string integers in range', () => {
    expect(parseInteger('4')).toBe(4);
    expect(parseInteger('')).toBeUndefined();
    expect(parseInteger('4 ')).toBeUndefined();
    expect(parseInteger('0', 1, 10)).toBeUndefined();
    expect(parseHex('8086', 0xffff)).toBe(0x8086);
    expect(parseHex('0x1af4', 0xffff)).toBe(0x1af4);
    expect(parseHex('10000', 0xffff)).toBeUndefined();
  });

  it('expands size suffixes', () => {
    expect(expandNumber('512')).toBe(512);
    expect(expandNumber('4k')).toBe(4096);
    expect(expandNumber('1T')).toBe(2 ** 40);
    expect(expandNumber('3b')).toBe(3);
    expect(expandNumber('1KB')).toBeUndefined();
    expect(expandNumber('x')).toBeUndefined();
    expect(expandNumber('-1k')).toBeUndefined();
    expect(expandNumber('16E')).toBeUndefined(); // beyond the safe integer range
  });

  it('treats a bare memory size below 1 MiB as MiB', () => {
    expect(parseMemSize('256')).toBe(256 * 2 ** 20);
    expect(parseMemSize('1048575')).toBe(1048575 * 2 ** 20);
    expect(parseMemSize('1048576')).toBe(1048576);
    expect(parseMemSize('256M')).toBe(256 * 2 ** 20);
    expect(parseMemSize('0x100')).toBe(256 * 2 ** 20);
    expect(parseMemSize('')).toBeUndefined();
  });
});
