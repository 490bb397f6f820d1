/**
 * Live vs inactive XML and secure data (libvirt's VIR_DOMAIN_XML_INACTIVE and
 * VIR_DOMAIN_XML_SECURE, VIR_DOMAIN_DEF_PARSE_INACTIVE): the domain id, runtime aliases,
 * pty paths (and the console's tty attribute), autoport VNC ports and generated tap names
 * exist only in live XML; user aliases (ua-*) survive; passwords need the secure flag.
 */

import { describe, expect, it } from 'vitest';
import { formatDomainXML, parseDomainXML } from '../../src/xml/index.js';

const LIVE = `<domain type='bhyve' id='7'>
  <name>live</name>
  <uuid>00000000-0000-4000-8000-0000000000aa</uuid>
  <memory unit='KiB'>524288</memory>
  <currentMemory unit='KiB'>524288</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/vm/live.img' index='1'/>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <controller type='pci' index='0' model='pci-root'>
      <alias name='pci.0'/>
    </controller>
    <interface type='bridge'>
      <mac address='52:54:00:00:00:aa'/>
      <source bridge='bridge0'/>
      <target dev='vnet0'/>
      <model type='virtio'/>
      <alias name='ua-uplink'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
    <serial type='pty'>
      <source path='/dev/pts/3'/>
      <target port='0'/>
      <alias name='serial0'/>
    </serial>
    <console type='pty' tty='/dev/pts/3'>
      <source path='/dev/pts/3'/>
      <target type='serial' port='0'/>
      <alias name='serial0'/>
    </console>
    <graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1' passwd='secret'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <video>
      <model type='gop' heads='1' primary='yes'/>
      <alias name='video0'/>
    </video>
  </devices>
</domain>
`;

describe('live and inactive XML', () => {
  const live = parseDomainXML(LIVE, { inactive: false });

  it('a live parse keeps every live-only datum and formats back identically', () => {
    expect(live.id).toBe(7);
    expect(formatDomainXML(live, { secure: true })).toBe(LIVE);
  });

  it('inactive format drops id, runtime aliases, pty paths, autoport ports and generated tap names', () => {
    const out = formatDomainXML(live, { inactive: true, secure: true });
    expect(out).toMatch(/^<domain type='bhyve'>\n/);
    expect(out).not.toContain("alias name='virtio-disk0'");
    expect(out).not.toContain("alias name='pci.0'");
    expect(out).not.toContain("alias name='serial0'");
    expect(out).toContain("<alias name='ua-uplink'/>");
    expect(out).not.toContain('/dev/pts/3');
    expect(out).not.toContain("index='1'");
    expect(out).not.toContain('vnet0');
    expect(out).toContain("<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' passwd='secret'>");
    expect(out).toContain("<console type='pty'>\n      <target type='serial' port='0'/>\n    </console>");
  });

  it('an inactive parse drops live-only data at the source', () => {
    const def = parseDomainXML(LIVE);
    expect(def.id).toBeUndefined();
    expect(def.devices.disks[0]!.alias).toBeUndefined();
    expect(def.devices.interfaces[0]!.alias).toBe('ua-uplink');
    expect(def.devices.interfaces[0]!.target).toBeUndefined();
    expect(def.devices.serials[0]!.sources).toEqual([]);
    const g = def.devices.graphics[0]!;
    expect(g.type === 'vnc' && g.port).toBeUndefined();
    expect(formatDomainXML(def, { inactive: true, secure: true })).toBe(formatDomainXML(live, { inactive: true, secure: true }));
  });

  it('passwords appear only with the secure flag', () => {
    expect(formatDomainXML(live)).not.toContain('passwd=');
    expect(formatDomainXML(live, { inactive: true })).not.toContain('secret');
    expect(formatDomainXML(live, { secure: true })).toContain("passwd='secret'");
  });

  it('formatting does not modify the definition', () => {
    const before = JSON.stringify(live);
    formatDomainXML(live, { inactive: true });
    formatDomainXML(live, { secure: true });
    expect(JSON.stringify(live)).toBe(before);
  });
});
