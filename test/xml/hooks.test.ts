/**
 * Driver hooks (libvirt's virDomainDefParserConfig): called in libvirt's order, able to
 * set defaults before the common ones and to refuse a definition with a VirError; the
 * default architecture; the XML layer itself stays hypervisor-neutral.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type DomainParserConfig,
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_FROM_BHYVE,
  VirError,
  formatDomainXML,
  parseDomainXML,
} from '../../src/xml/index.js';
import { FIXTURES } from './support.js';

const base = readFileSync(join(FIXTURES, 'bench-domain.xml'), 'utf8');

describe('driver hooks', () => {
  it('runs the hooks in libvirt\'s order', () => {
    const calls: string[] = [];
    const config: DomainParserConfig = {
      postParseBasic: () => calls.push('postParseBasic'),
      postParse: () => calls.push('postParse'),
      devicePostParse: (dev) => calls.push(`devicePostParse:${dev.kind}`),
      assignAddresses: () => calls.push('assignAddresses'),
      validate: () => calls.push('validate'),
      deviceValidate: (dev) => calls.push(`deviceValidate:${dev.kind}`),
    };
    parseDomainXML(base, { config });
    const first = (s: string): number => calls.indexOf(s);
    expect(calls[0]).toBe('postParseBasic');
    expect(calls[1]).toBe('postParse');
    expect(first('devicePostParse:disk')).toBeGreaterThan(1);
    expect(first('assignAddresses')).toBeGreaterThan(calls.lastIndexOf('devicePostParse:rng'));
    expect(first('validate')).toBeGreaterThan(first('assignAddresses'));
    expect(first('deviceValidate:disk')).toBeGreaterThan(first('validate'));
    expect(calls.filter((c) => c === 'devicePostParse:disk').length).toBe(3);
  });

  it('lets a driver fill defaults before the common ones (addresses, implicit devices)', () => {
    const config: DomainParserConfig = {
      postParse(def) {
        if (!def.devices.controllers.some((c) => c.type === 'pci')) def.devices.controllers.unshift({ type: 'pci', index: 0, model: 'pci-root' });
      },
      devicePostParse(dev) {
        if (dev.kind === 'disk' && dev.def.target.bus === 'sata' && !dev.def.address) {
          dev.def.address = { type: 'drive', controller: 0, bus: 0, target: 2, unit: 0 };
        }
      },
      assignAddresses(def) {
        let slot = 2;
        for (const c of def.devices.controllers) if (c.type === 'sata' && !c.address) c.address = { type: 'pci', domain: 0, bus: 0, slot: slot++, function: 0 };
      },
    };
    const out = formatDomainXML(parseDomainXML(base, { config }), { inactive: true });
    expect(out).toContain("<target dev='sda' bus='sata'/>\n      <address type='drive' controller='0' bus='0' target='2' unit='0'/>");
    expect(out).toContain("<controller type='pci' index='0' model='pci-root'/>");
    // the common post-parse still added the implicit SATA controller, which the hook then addressed
    expect(out).toContain("<controller type='sata' index='0'>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>");
  });

  it('lets a driver refuse what it cannot run with a clear VirError', () => {
    const config: DomainParserConfig = {
      deviceValidate(dev) {
        if (dev.kind === 'interface' && dev.def.model === 'e1000') {
          throw new VirError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_BHYVE, "unsupported configuration: NIC model 'e1000' is not supported by given bhyve binary");
        }
      },
    };
    const xml = base.replace("<model type='virtio'/>", "<model type='e1000'/>");
    expect(() => parseDomainXML(xml, { config })).toThrowError(/NIC model 'e1000'/);
    try {
      parseDomainXML(xml, { config });
    } catch (e) {
      expect((e as VirError).code).toBe(VIR_ERR_CONFIG_UNSUPPORTED);
      expect((e as VirError).domain).toBe(VIR_FROM_BHYVE);
    }
    // without the hook the XML layer keeps it: refusing is the driver's job
    expect(parseDomainXML(xml).devices.interfaces[0]!.model).toBe('e1000');
  });

  it('uses the configured default architecture', () => {
    const xml = base.replace("<type arch='x86_64'>", '<type>');
    expect(parseDomainXML(xml).os.arch).toBe('x86_64');
    expect(parseDomainXML(xml, { config: { defaultArch: 'aarch64' } }).os.arch).toBe('aarch64');
  });

  it('turns an unexpected exception inside a hook into VIR_ERR_INTERNAL_ERROR', () => {
    const config: DomainParserConfig = {
      postParse() {
        throw new TypeError('boom');
      },
    };
    expect(() => parseDomainXML(base, { config })).toThrowError(VirError);
  });

  it('skips post-parse and validation on request', () => {
    const def = parseDomainXML(base, { skipPostParse: true, skipValidate: true });
    expect(def.devices.controllers.some((c) => c.type === 'sata')).toBe(false);
    expect(parseDomainXML(base).devices.controllers.some((c) => c.type === 'sata')).toBe(true);
  });
});
