/**
 * XML surface syntax libvirt accepts and normalises: XML declaration, comments anywhere,
 * CRLF line ends, double-quoted attributes, CDATA (literal: never entity-decoded),
 * character and predefined entity references in attributes and text, attribute-value
 * whitespace normalisation. Expected text is libvirt 9.0's output for the same input.
 */

import { describe, expect, it } from 'vitest';
import { formatDomainXML, parseDomainXML } from '../../src/xml/index.js';

const INPUT =
  '<?xml version="1.0" encoding="UTF-8"?>\r\n<!-- leading comment -->\r\n<domain type="kvm">\r\n  <name>crlf</name>\r\n' +
  '  <uuid>00000000-0000-4000-8000-0000000000cc</uuid>\r\n' +
  '  <description><![CDATA[a <b> & c &amp;]]> tail</description>\r\n  <memory unit="MiB">512</memory>\r\n  <!-- inner comment -->\r\n' +
  '  <os><type arch="x86_64">hvm</type></os>\r\n  <devices>\r\n' +
  '    <disk type="file" device="disk"><source file="/a&amp;b&#x20;c&apos;d&quot;e"/><target dev="vda" bus="virtio"/></disk>\r\n' +
  '  </devices>\r\n</domain>\r\n<!-- trailing -->\r\n';

const EXPECTED = `<domain type='kvm'>
  <name>crlf</name>
  <uuid>00000000-0000-4000-8000-0000000000cc</uuid>
  <description>a &lt;b&gt; &amp; c &amp;amp; tail</description>
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
      <source file='/a&amp;b c&apos;d&quot;e'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
`;

describe('XML syntax forms', () => {
  it('reads declaration, comments, CRLF, CDATA and references like libvirt', () => {
    expect(formatDomainXML(parseDomainXML(INPUT), { inactive: true })).toBe(EXPECTED);
  });
  it('keeps CDATA literal and decodes references in text', () => {
    const def = parseDomainXML(INPUT);
    expect(def.description).toBe('a <b> & c &amp; tail');
    expect(def.devices.disks[0]!.source?.file).toBe(`/a&b c'd"e`);
  });
  it('normalises literal tabs and newlines in attribute values to spaces, keeps &#10;', () => {
    const def = parseDomainXML(INPUT.replace('/a&amp;b', '/a\tb\nc&#10;d'));
    expect(def.devices.disks[0]!.source?.file).toMatch(/^\/a b c\nd/);
  });
  it('ignores a literal & inside comments and processing instructions', () => {
    const def = parseDomainXML(INPUT.replace('<!-- inner comment -->', '<!-- a & b --><?pi x & y?>'));
    expect(def.name).toBe('crlf');
  });
});
