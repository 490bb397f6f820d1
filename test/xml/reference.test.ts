/**
 * libvirt's own bhyve test expectations (tests/bhyvexml2xmloutdata, read in place from
 * /work/shared/reference — never copied into the repository): every output libvirt's
 * bhyve driver wrote is read and written back byte for byte, and stays a fixed point.
 * Skips with a message when the reference data is absent.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDomainXML, parseDomainXML } from '../../src/xml/index.js';
import { REFERENCE_OUT } from './support.js';

const present = existsSync(REFERENCE_OUT);
const files: string[] = present
  ? readdirSync(REFERENCE_OUT).flatMap((arch) => readdirSync(join(REFERENCE_OUT, arch)).map((f) => join(REFERENCE_OUT, arch, f)))
  : [];

describe.skipIf(!present)(`libvirt bhyve xml2xmlout data (${present ? files.length : 'absent: ' + REFERENCE_OUT})`, () => {
  for (const file of files) {
    const name = file.slice(REFERENCE_OUT.length + 1);
    it(`${name} round-trips exactly`, () => {
      const text = readFileSync(file, 'utf8');
      const out = formatDomainXML(parseDomainXML(text), { inactive: true, secure: true });
      expect(out).toBe(text);
    });
  }
  it('hides the VNC password unless the secure flag is given', () => {
    const text = readFileSync(join(REFERENCE_OUT, 'x86_64/bhyvexml2xmlout-vnc-password.xml'), 'utf8');
    const def = parseDomainXML(text);
    expect(formatDomainXML(def, { inactive: true })).not.toContain("passwd='s3cr3t'");
    expect(formatDomainXML(def, { inactive: true, secure: true })).toContain("passwd='s3cr3t'");
  });
});
