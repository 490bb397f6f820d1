/**
 * The public interface other issues and outside checks rely on: `tsvirt/xml` resolves
 * from the repository root to the built module, exports parseDomainXML/formatDomainXML
 * (and the capabilities formatters), and errors are VirErrors with numeric code/domain.
 * Also the identity defaults: a UUID is generated when absent, `<genid/>` gets a value.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, VirError, formatDomainXML, isVirError, parseDomainXML } from '../../src/xml/index.js';
import { ROOT } from './support.js';

const MINIMAL = "<domain type='bhyve'><name>m</name><memory>1024</memory><os><type>hvm</type></os></domain>";
const built = existsSync(join(ROOT, 'dist/xml/index.js'));

describe('tsvirt/xml package entry', () => {
  it.skipIf(!built)('resolves from the repository root and exports the interface', async () => {
    const mod = (await import('tsvirt/xml')) as Record<string, unknown>;
    for (const name of ['parseDomainXML', 'formatDomainXML', 'formatCapabilitiesXML', 'formatDomainCapabilitiesXML', 'VirError']) {
      expect(typeof mod[name], name).toBe('function');
    }
    const parse = mod.parseDomainXML as typeof parseDomainXML;
    const format = mod.formatDomainXML as typeof formatDomainXML;
    expect(format(parse(MINIMAL), { inactive: true })).toContain("<memory unit='KiB'>1024</memory>");
    try {
      parse('<domain');
      throw new Error('accepted a broken document');
    } catch (e) {
      expect(typeof (e as VirError).code).toBe('number');
      expect((e as VirError).code).toBe(VIR_ERR_XML_DETAIL);
      expect((e as VirError).domain).toBe(VIR_FROM_DOMAIN);
      expect(typeof (e as VirError).message).toBe('string');
    }
  });
});

describe('identity defaults', () => {
  it('generates a UUID when absent, different each time', () => {
    const a = parseDomainXML(MINIMAL).uuid;
    const b = parseDomainXML(MINIMAL).uuid;
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    expect(formatDomainXML(parseDomainXML(MINIMAL))).toContain(`<uuid>`);
  });
  it('fills <genid/> with a generated value and keeps a given one', () => {
    const g = parseDomainXML(MINIMAL.replace('<memory>', '<genid/><memory>')).genid?.value;
    expect(g).toMatch(/^[0-9a-f-]{36}$/);
    const given = parseDomainXML(MINIMAL.replace('<memory>', '<genid>AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE</genid><memory>'));
    expect(given.genid?.value).toBe('aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee');
  });
  it('recognises VirErrors structurally', () => {
    expect(isVirError(new VirError(1, 2, 'x'))).toBe(true);
    expect(isVirError({ name: 'VirError', code: 1, domain: 2, message: 'x' })).toBe(true);
    expect(isVirError(new Error('x'))).toBe(false);
    expect(JSON.parse(JSON.stringify(new VirError(27, 20, 'XML error: x')))).toEqual({ code: 27, domain: 20, level: 2, message: 'XML error: x' });
  });
});
