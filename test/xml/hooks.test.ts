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
  type NamespaceHandler,
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_FROM_BHYVE,
  VirError,
  formatDomainXML,
  maybeAddController,
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

  it('lets a driver register its own namespace (like libvirt\'s virXMLNamespace)', () => {
    const ns: NamespaceHandler = {
      prefix: 'ex',
      uri: 'http://example.org/ns/1.0',
      parse: (elems) => elems.flatMap((e) => e.children).filter((c) => typeof c !== 'string').map((c) => (c as { attrs: Array<[string, string]> }).attrs[0]![1]),
      format: (data, indent) => `${indent}<ex:opts>\n${(data as string[]).map((v) => `${indent}  <ex:opt v='${v}'/>`).join('\n')}\n${indent}</ex:opts>`,
    };
    const xml = base.replace("<domain type='bhyve'>", "<domain type='bhyve' xmlns:e='http://example.org/ns/1.0'>").replace('</domain>', "  <e:opts><e:opt v='1'/><e:opt v='2'/></e:opts>\n</domain>");
    const def = parseDomainXML(xml, { config: { namespaces: [ns] } });
    expect(def.namespaceData?.['http://example.org/ns/1.0']).toEqual(['1', '2']);
    const out = formatDomainXML(def, { namespaces: [ns] });
    expect(out).toContain("<domain type='bhyve' xmlns:ex='http://example.org/ns/1.0'>");
    expect(out).toContain("  <ex:opts>\n    <ex:opt v='1'/>\n    <ex:opt v='2'/>\n  </ex:opts>\n</domain>");
    // unknown namespaces are ignored, as libvirt does
    expect(parseDomainXML(xml).namespaceData).toBeUndefined();
  });
  it('reads the bhyve namespace under any prefix bound to its URI', () => {
    const xml = base
      .replace("<domain type='bhyve'>", "<domain type='bhyve' xmlns:b='http://libvirt.org/schemas/domain/bhyve/1.0'>")
      .replace('</domain>', "  <b:commandline><b:arg value='-A'/><b:env name='FOO' value='bar'/></b:commandline>\n</domain>");
    const def = parseDomainXML(xml);
    expect(def.bhyveCommandline).toEqual({ args: ['-A'], envs: [{ name: 'FOO', value: 'bar' }] });
    expect(formatDomainXML(def)).toContain("<bhyve:commandline>\n    <bhyve:arg value='-A'/>\n    <bhyve:env name='FOO' value='bar'/>\n  </bhyve:commandline>");
    expect(() => parseDomainXML(xml.replace("name='FOO'", "name='1FOO'"))).toThrowError(/Invalid environment name/);
  });

  it('generates MACs through the configured generator (libvirt virDomainNetGenerateMAC)', () => {
    const xml = base.replace("<mac address='52:54:00:4d:ea:22'/>", '');
    expect(parseDomainXML(xml, { config: { generateMac: () => '52:54:00:00:00:00' } }).devices.interfaces[0]!.mac!.address).toBe('52:54:00:00:00:00');
    // an address given in the XML is kept; the default generator is random in 52:54:00
    expect(parseDomainXML(base, { config: { generateMac: () => '52:54:00:00:00:00' } }).devices.interfaces[0]!.mac!.address).toBe('52:54:00:4d:ea:22');
    const a = parseDomainXML(xml).devices.interfaces[0]!.mac!.address;
    const b = parseDomainXML(xml).devices.interfaces[0]!.mac!.address;
    expect(a).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(a).not.toBe(b);
    // what a generator returns is checked, and canonicalised
    expect(parseDomainXML(xml, { config: { generateMac: () => '52:54:0:A:b:c' } }).devices.interfaces[0]!.mac!.address).toBe('52:54:00:0a:0b:0c');
    expect(() => parseDomainXML(xml, { config: { generateMac: () => 'not-a-mac' } })).toThrowError(/generated MAC address 'not-a-mac'/);
  });

  it('keeps in the model what libvirt parses but does not write back', () => {
    // bootloader_args without a bootloader (bhyveload reads them) and vgaconf='io' (the
    // enum's zero, bhyve's fbuf vga=io) are parsed, and left out of the formatted XML
    const xml = base
      .replace('<os>', '<bootloader_args>-X -Y</bootloader_args>\n  <os>')
      .replace(/<video>/, "<video>\n      <driver vgaconf='io'/>");
    const def = parseDomainXML(xml);
    expect(def.bootloader_args).toBe('-X -Y');
    expect(def.devices.videos[0]!.driver).toEqual({ vgaconf: 'io' });
    const out = formatDomainXML(def, { inactive: true });
    expect(out).not.toContain('bootloader_args');
    expect(out).not.toContain('<driver vgaconf');
    expect(formatDomainXML(parseDomainXML(xml.replace("vgaconf='io'", "vgaconf='on'")))).toContain("<driver vgaconf='on'/>");
    expect(formatDomainXML(parseDomainXML(xml.replace('<bootloader_args>', '<bootloader>/usr/sbin/bhyveload</bootloader>\n  <bootloader_args>')))).toContain(
      '<bootloader>/usr/sbin/bhyveload</bootloader>\n  <bootloader_args>-X -Y</bootloader_args>',
    );
  });

  it('appends implicit controllers, as virDomainDefAddController does', () => {
    const config: DomainParserConfig = {
      postParse(def) {
        maybeAddController(def, 'pci', 0, 'pci-root');
      },
    };
    const xml = base.replace('<controller', "<controller type='sata' index='1'/><controller type='pci' index='1' model='pci-bridge'/><controller");
    const types = parseDomainXML(xml, { config }).devices.controllers.map((c) => `${c.type}${c.index}`);
    // explicit ones filed by type and index; pci-root (hook) and sata 0 (disk) appended in turn
    expect(types.slice(-2)).toEqual(['pci0', 'sata0']);
    expect(types.indexOf('sata1')).toBeLessThan(types.indexOf('pci1'));
  });
});
