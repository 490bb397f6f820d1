/**
 * `<interface type='udp'>` (libvirt: `<source address= port=><local address= port=/>`) on
 * tsbhyve's unprivileged `udp:HOST:PORT,local=HOST:PORT` net backend
 * (docs/tsbhyve-config.md): the XML round trip (as libvirt writes it: fixtures/xml/net-udp),
 * the translation for both NIC models, the way back from the bhyve command line
 * (domxml-from-native), and the refusals, each naming the interface.
 */
import { describe, expect, it } from 'vitest';
import { ALL_BHYVE_CAPS, bhyveArgvToDomain, createBhyveParserConfig, domainToBhyveArgv, domainToBhyveConfig, type TranslateOptions } from '../../src/driver/index.js';
import { isVirError, VIR_ERR_CONFIG_UNSUPPORTED } from '../../src/xml/errors.js';
import { formatDomainXML, parseDomainXML } from '../../src/xml/index.js';

const opts: TranslateOptions = {};

function domain(ifaces: string): string {
  return `<domain type='bhyve'><name>u</name><uuid>0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9</uuid><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type><kernel>/boot/vmlinuz</kernel></os><devices>${ifaces}</devices></domain>`;
}

const udp = (peer: string, local = '', model = 'virtio', mac = '52:54:00:00:00:51') =>
  `<interface type='udp'><mac address='${mac}'/><source ${peer}>${local}</source><model type='${model}'/></interface>`;

function translate(xml: string, o: TranslateOptions = opts) {
  return domainToBhyveArgv(parseDomainXML(xml, { config: createBhyveParserConfig(o) }), { kernelProtocol: () => 'linux', ...o });
}

function refusal(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (e) {
    if (isVirError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe("<interface type='udp'> on tsbhyve's udp backend", () => {
  it('translates to udp:HOST:PORT with local=, for virtio and e1000, in argv and the -k file', () => {
    const xml = domain(
      udp("address='127.0.0.1' port='40001'", "<local address='127.0.0.1' port='40000'/>") +
        udp("address='10.0.0.2' port='5000'", "<local address='0.0.0.0' port='5001'/>", 'e1000', '52:54:00:00:00:52'),
    );
    const r = translate(xml);
    const slots = r.bhyve.filter((a) => a.includes('udp:'));
    expect(slots).toEqual([
      expect.stringMatching(/^\d+:0,virtio-net,udp:127\.0\.0\.1:40001,local=127\.0\.0\.1:40000,mac=52:54:00:00:00:51$/),
      expect.stringMatching(/^\d+:0,e1000,udp:10\.0\.0\.2:5000,local=0\.0\.0\.0:5001,mac=52:54:00:00:00:52$/),
    ]);
    const conf = domainToBhyveConfig(parseDomainXML(xml, { config: createBhyveParserConfig(opts) }), { kernelProtocol: () => 'linux' });
    expect(conf).toMatch(/^pci\.0\.\d+\.0\.backend=udp:127\.0\.0\.1:40001$/m);
    expect(conf).toMatch(/^pci\.0\.\d+\.0\.local=127\.0\.0\.1:40000$/m);
    expect(conf).toMatch(/^pci\.0\.\d+\.0\.device=e1000$/m);
  });

  it('without <local> leaves the local end to tsbhyve (127.0.0.1, any port)', () => {
    const r = translate(domain(udp("address='127.0.0.1' port='40001'")));
    expect(r.bhyve.find((a) => a.includes('udp:'))).toMatch(/virtio-net,udp:127\.0\.0\.1:40001,mac=52:54:00:00:00:51$/);
  });

  it('a <local> without an address binds 127.0.0.1', () => {
    const r = translate(domain(udp("address='127.0.0.1' port='40001'", "<local port='40000'/>")));
    expect(r.bhyve.find((a) => a.includes('udp:'))).toContain('udp:127.0.0.1:40001,local=127.0.0.1:40000');
  });

  it('round-trips through XML as libvirt writes it', () => {
    const xml = domain(udp("port='40001' address='127.0.0.1'", "<local port='40000' address='127.0.0.1'/>"));
    const out = formatDomainXML(parseDomainXML(xml), { inactive: true });
    expect(out).toContain(
      "    <interface type='udp'>\n      <mac address='52:54:00:00:00:51'/>\n      <source address='127.0.0.1' port='40001'>\n        <local address='127.0.0.1' port='40000'/>\n      </source>\n      <model type='virtio'/>\n    </interface>\n",
    );
    expect(formatDomainXML(parseDomainXML(out), { inactive: true })).toBe(out);
  });

  it('comes back from the bhyve command line (domxml-from-native) as the same interface', () => {
    const argv = ['tsbhyve', '-c', '1', '-m', '256', '-s', '0:0,hostbridge', '-s', '1:0,lpc', '-s', '2:0,virtio-blk,/img/u.img', '-s', '3:0,virtio-net,udp:127.0.0.1:40001,local=127.0.0.1:40000,mac=52:54:00:00:00:51', 'u'];
    const def = bhyveArgvToDomain(argv, undefined, { mode: 'tsvirt' });
    const iface = def.devices.interfaces[0]!;
    expect(iface.type).toBe('udp');
    expect(iface.source).toMatchObject({ address: '127.0.0.1', port: 40001, local: { address: '127.0.0.1', port: 40000 } });
    const back = domainToBhyveArgv(parseDomainXML(formatDomainXML(def, {})), { caps: ALL_BHYVE_CAPS, listDir: () => [] });
    expect(back.bhyve).toContain('3:0,virtio-net,udp:127.0.0.1:40001,local=127.0.0.1:40000,mac=52:54:00:00:00:51');
  });

  it('refuses what the backend cannot carry, naming the interface', () => {
    const ipv6 = refusal(() => translate(domain(udp("address='::1' port='40001'"))));
    expect(ipv6.code).toBe(VIR_ERR_CONFIG_UNSUPPORTED);
    expect(ipv6.message).toContain("interface 0: udp address '::1' must be an IPv4 address or host name");
    const noAddr = refusal(() => translate(domain(udp("port='40001'"))));
    expect(noAddr.message).toContain('interface 0: udp needs <source address port>');
    const noPort = refusal(() => parseDomainXML(domain(udp("address='127.0.0.1'"))));
    expect(noPort.message).toMatch(/port/);
    const caps = ALL_BHYVE_CAPS.filter((c) => c !== 'NET_UDP');
    const noCap = refusal(() => translate(domain(udp("address='127.0.0.1' port='1'")), { caps }));
    expect(noCap.code).toBe(VIR_ERR_CONFIG_UNSUPPORTED);
    expect(noCap.message).toContain('interface 0: UDP networking is not supported by given bhyve binary');
  });
});
