import { describe, expect, it } from 'vitest';
import { createBhyveParserConfig, domainToBhyveConfig, LIBVIRT_TEST_CAPS } from '../../src/driver/index.js';
import { isVirError } from '../../src/xml/errors.js';
import { formatDomainXML, parseDomainXML } from '../../src/xml/index.js';

const bhyve = (devices: string, extra = ''): string =>
  `<domain type='bhyve'><name>h</name><uuid>df3be7e7-a104-11e3-aeb0-50e5492bd3dc</uuid><memory unit='MiB'>128</memory>${extra}<os><type>hvm</type></os><devices>${devices}</devices></domain>`;

describe('parse hooks', () => {
  it('add pci-root, the LPC bridge for a serial port, and nmdm paths from the UUID', () => {
    const def = parseDomainXML(bhyve("<serial type='nmdm'/>"), { config: createBhyveParserConfig() });
    expect(def.devices.controllers.map((c) => [c.type, c.model, c.address?.type === 'pci' ? c.address.slot : undefined])).toEqual([
      ['pci', 'pci-root', undefined],
      ['isa', undefined, 1],
    ]);
    expect(def.devices.serials[0]!.sources[0]).toEqual({ master: '/dev/nmdmdf3be7e7-a104-11e3-aeb0-50e5492bd3dcA', slave: '/dev/nmdmdf3be7e7-a104-11e3-aeb0-50e5492bd3dcB' });
  });
  it('give SATA disks 32-port or one-per-controller drive addresses', () => {
    const disks = "<disk type='file'><source file='/a'/><target dev='sdc' bus='sata'/></disk>";
    const wide = parseDomainXML(bhyve(disks), { config: createBhyveParserConfig({ caps: LIBVIRT_TEST_CAPS }) });
    expect(wide.devices.disks[0]!.address).toEqual({ type: 'drive', controller: 0, bus: 0, target: 0, unit: 2 });
    const narrow = parseDomainXML(bhyve(disks), { config: createBhyveParserConfig({ caps: LIBVIRT_TEST_CAPS.filter((c) => c !== 'AHCI32SLOT') }) });
    expect(narrow.devices.disks[0]!.address).toEqual({ type: 'drive', controller: 2, bus: 0, target: 0, unit: 0 });
  });
  it('refuse other hypervisors and other architectures', () => {
    for (const [xml, msg] of [
      [bhyve('').replace("type='bhyve'", "type='xen'"), /domain type 'xen'/],
      [bhyve('').replace('<type>hvm</type>', "<type arch='aarch64'>hvm</type>"), /arch 'aarch64'/],
    ] as const) {
      try {
        parseDomainXML(xml, { config: createBhyveParserConfig() });
        throw new Error('expected a refusal');
      } catch (e) {
        expect(isVirError(e)).toBe(true);
        expect((e as Error).message).toMatch(msg);
      }
    }
  });
  it('leave kvm domains as the user wrote them', () => {
    const xml = "<domain type='kvm'><name>k</name><memory unit='MiB'>128</memory><os><type arch='x86_64' machine='q35'>hvm</type></os><devices><disk type='file'><source file='/a'/><target dev='hda' bus='ide'/></disk><video><model type='qxl'/></video></devices></domain>";
    const withHooks = formatDomainXML(parseDomainXML(xml, { config: createBhyveParserConfig() }), { inactive: true });
    const without = formatDomainXML(parseDomainXML(xml), { inactive: true });
    expect(withHooks.replace(/<uuid>.*<\/uuid>/, '')).toBe(without.replace(/<uuid>.*<\/uuid>/, ''));
    expect(withHooks).toContain("machine='q35'");
    expect(withHooks).toContain("bus='ide'");
  });
  it('show firmware autoselection in the defined XML', () => {
    const xml = bhyve('').replace('<os>', "<os firmware='efi'>");
    const def = parseDomainXML(xml, { config: createBhyveParserConfig({ firmwareDir: '/fw', nvramDir: '/nv', listDir: () => ['BHYVE_UEFI.fd'] }) });
    expect(def.os.loader).toMatchObject({ path: '/fw/BHYVE_UEFI.fd', type: 'pflash', readonly: 'yes' });
    expect(def.os.nvram).toMatchObject({ path: '/nv/h_VARS.fd', template: '/fw/BHYVE_UEFI_VARS.fd' });
  });
});

describe('config file', () => {
  it('refuses pass-through arguments that have no config form', () => {
    const xml = bhyve("<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/></disk>").replace(
      "<domain type='bhyve'>",
      "<domain type='bhyve' xmlns:bhyve='http://libvirt.org/schemas/domain/bhyve/1.0'>",
    ).replace('</devices>', "</devices><bhyve:commandline><bhyve:arg value='-s'/><bhyve:arg value='9,uart,stdio'/></bhyve:commandline>");
    expect(() => domainToBhyveConfig(parseDomainXML(xml, { config: createBhyveParserConfig() }))).toThrow(/'-s' has no bhyve_config\(5\) form/);
  });
});
