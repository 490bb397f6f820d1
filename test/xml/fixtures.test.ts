/**
 * Round-trip fixtures (fixtures/xml): for every element family, tsvirt's formatDomainXML
 * of the parsed input equals libvirt's output (`.out.xml`), parse→format is a fixed point,
 * libvirt's virt-xml-validate accepts every output, and — with python3-libvirt — libvirt
 * 9.0 itself still produces the golden file from the input.
 */

import { describe, expect, it } from 'vitest';
import { formatDomainXML, parseDomainXML } from '../../src/xml/index.js';
import { BEYOND_LIBVIRT9, NOT_FOR_ORACLE, fixtures, haveLibvirtPython, haveValidator, libvirtOracle, validateAll } from './support.js';

const all = fixtures();
/**
 * Fixtures libvirt itself reorders when its own output is defined again: disks grouped by
 * bus, and implicit controllers (appended) filed among the explicit ones by index.
 */
const REORDERS_ON_REREAD = new Set(['disks', 'devices-more', 'formatter-order']);
const fmt = (xml: string): string => formatDomainXML(parseDomainXML(xml), { inactive: true, secure: true });

describe('fixtures: libvirt output', () => {
  it('has a fixture per element family', () => {
    expect(all.length).toBeGreaterThanOrEqual(20);
  });
  for (const f of all) {
    it(`${f.name}: formats like libvirt`, () => {
      expect(fmt(f.input)).toBe(f.expected);
    });
    it(`${f.name}: parse→format is a fixed point`, () => {
      // libvirt groups disks by the bus *as written* when inserting them, and files
      // controllers read from XML by type and index while implicit ones are appended; an
      // output can therefore be reordered once more when it is re-read (libvirt does the
      // same: see the oracle test below). From then on the text is stable.
      const once = fmt(f.expected);
      expect(fmt(once)).toBe(once);
      expect(formatDomainXML(parseDomainXML(once), { inactive: true, secure: true })).toBe(once);
      if (!REORDERS_ON_REREAD.has(f.name)) expect(once).toBe(f.expected);
    });
  }
});

describe('fixtures: virt-xml-validate', () => {
  it.skipIf(!haveValidator())('accepts every XML formatDomainXML emits (libvirt 9.0 schema)', async () => {
    const docs = all.filter((f) => !BEYOND_LIBVIRT9.has(f.name)).map((f) => ({ name: f.name, xml: fmt(f.input) }));
    const live = all
      .filter((f) => !BEYOND_LIBVIRT9.has(f.name))
      .map((f) => ({ name: `${f.name}-live`, xml: formatDomainXML(parseDomainXML(f.input, { inactive: false })) }));
    const failures = await validateAll([...docs, ...live]);
    expect(failures).toEqual([]);
  });
  it.skipIf(!haveValidator())('rejects what the schema forbids (the check can fail)', async () => {
    const bad = fmt(all[0]!.input).replace('<memory', '<memoryx').replace('</memory>', '</memoryx>');
    const failures = await validateAll([{ name: 'broken', xml: bad }]);
    expect(failures.length).toBe(1);
  });
});

describe('fixtures: libvirt 9.0 oracle', () => {
  const ok = haveLibvirtPython();
  it.skipIf(!ok)('libvirt defines and dumps each input to the golden file', () => {
    const subset = all.filter((f) => !NOT_FOR_ORACLE.has(f.name));
    const res = libvirtOracle(subset.map((f) => f.input));
    subset.forEach((f, i) => {
      const r = res[i]!;
      expect('xml' in r ? r.xml : r, f.name).toBe(f.expected);
    });
  });
  it.skipIf(!ok)('libvirt re-reads its own output exactly as tsvirt does (fixed point, reorderings included)', () => {
    const subset = all.filter((f) => !NOT_FOR_ORACLE.has(f.name));
    const res = libvirtOracle(subset.map((f) => f.expected));
    subset.forEach((f, i) => {
      const r = res[i]!;
      expect('xml' in r ? r.xml : r, f.name).toBe(fmt(f.expected));
    });
  });
});
