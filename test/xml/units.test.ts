/**
 * Memory units: every unit spelling libvirt accepts, scaled the way virScaleInteger does
 * (k/K/KiB = 1024, KB = 1000, b/bytes = 1, ...) and rounded up to KiB; values checked
 * against libvirt 9.0 (the table below came from python3-libvirt on test:///default and
 * is re-checked live when it is installed).
 */

import { describe, expect, it } from 'vitest';
import { formatDomainXML, parseDomainXML } from '../../src/xml/index.js';
import { haveLibvirtPython, libvirtOracle } from './support.js';

/** currentMemory of 3 <unit> in KiB, as libvirt 9.0 reports it. */
const TABLE: Array<[string, number]> = [
  ['b', 1],
  ['byte', 1],
  ['bytes', 1],
  ['B', 1],
  ['KB', 3],
  ['kB', 3],
  ['k', 3],
  ['K', 3],
  ['KiB', 3],
  ['kib', 3],
  ['MB', 2930],
  ['mb', 2930],
  ['M', 3072],
  ['MiB', 3072],
  ['GB', 2929688],
  ['G', 3145728],
  ['GiB', 3145728],
  ['TB', 2929687500],
  ['T', 3221225472],
  ['TiB', 3221225472],
];

const doc = (unit: string): string =>
  `<domain type='test'><name>u</name><memory unit='KiB'>17179869184</memory><currentMemory unit='${unit}'>3</currentMemory><os><type arch='x86_64'>hvm</type></os></domain>`;

describe('memory units', () => {
  for (const [unit, kib] of TABLE) {
    it(`3 ${unit} = ${kib} KiB`, () => {
      const def = parseDomainXML(doc(unit));
      expect(def.currentMemory).toBe(kib);
      expect(formatDomainXML(def)).toContain(`<currentMemory unit='KiB'>${kib}</currentMemory>`);
    });
  }
  it('keeps exact values up to the 2^63-byte limit', () => {
    const def = parseDomainXML(doc('b').replace('>3<', '>9223372036854775807<').replace('17179869184', '9007199254740991'));
    expect(def.memory).toBe(9007199254740991);
    // 2^63-1 bytes round up to 2^53 KiB, above <memory>, so libvirt clamps it
    expect(def.currentMemory).toBe(9007199254740991);
    expect(formatDomainXML(def)).toContain("<memory unit='KiB'>9007199254740991</memory>");
  });
  it.skipIf(!haveLibvirtPython())('agrees with libvirt 9.0 on every unit', () => {
    const res = libvirtOracle(TABLE.map(([u]) => doc(u)));
    TABLE.forEach(([unit, kib], i) => {
      const r = res[i]!;
      expect('xml' in r ? r.xml : r, unit).toContain(`<currentMemory unit='KiB'>${kib}</currentMemory>`);
    });
  });
});
