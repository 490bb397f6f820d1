/**
 * tsvirt's RPC client against the reference server: Debian's libvirtd with libvirt's own
 * test driver. Checks that our codecs read what real libvirt writes (node info char arrays,
 * security model, remote_error, events, list results).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient, RemoteCallError } from '../../src/rpc/client.js';
import { RemoteProcs } from '../../src/rpc/protocol/remote-procedures.js';
import { VIR_ERR } from '../../src/xml/errors.js';
import { DomainEventId, type DomainEvent } from '../../src/rpc/driver-api.js';
import { haveLibvirtd, startLibvirtd, type Libvirtd } from './libvirtd.js';
import { DOMAIN_XML } from './harness.js';

let lv: Libvirtd;
let c: RpcClient;

describe.skipIf(!haveLibvirtd)('RpcClient against a real libvirtd (test driver)', () => {
  beforeAll(async () => {
    lv = await startLibvirtd();
    c = await RpcClient.connect(lv.rwPath);
    await c.open('test:///default');
  }, 30_000);
  afterAll(async () => {
    await c?.close();
    await lv?.stop();
  });

  it('reads host information', async () => {
    expect((await c.call(RemoteProcs.CONNECT_GET_TYPE, undefined)).type).toBe('TEST');
    expect((await c.call(RemoteProcs.CONNECT_GET_URI, undefined)).uri).toBe('test:///default');
    expect((await c.call(RemoteProcs.CONNECT_GET_LIB_VERSION, undefined)).lib_ver).toBeGreaterThanOrEqual(9000000n);
    const node = await c.call(RemoteProcs.NODE_GET_INFO, undefined);
    expect(node).toMatchObject({ model: 'i686', memory: 3145728n, cpus: 16, mhz: 1400, nodes: 2, sockets: 2, cores: 2, threads: 2 });
    const caps = await c.call(RemoteProcs.CONNECT_GET_CAPABILITIES, undefined);
    expect(caps.capabilities).toContain('<capabilities>');
  });

  it('lists and looks up the default domain', async () => {
    const all = await c.call(RemoteProcs.CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags: 0 });
    expect(all.domains.map((d) => [d.name, d.id])).toEqual([['test', 1]]);
    const { dom } = await c.call(RemoteProcs.DOMAIN_LOOKUP_BY_NAME, { name: 'test' });
    const info = await c.call(RemoteProcs.DOMAIN_GET_INFO, { dom });
    expect(info.state).toBe(1);
    expect(info.nrVirtCpu).toBe(2);
    expect((await c.call(RemoteProcs.DOMAIN_GET_STATE, { dom, flags: 0 })).state).toBe(1);
    expect((await c.call(RemoteProcs.DOMAIN_GET_XML_DESC, { dom, flags: 0 })).xml).toContain("<name>test</name>");
  });

  it('decodes remote_error from libvirt', async () => {
    const e = (await c.call(RemoteProcs.DOMAIN_LOOKUP_BY_NAME, { name: 'nope' }).catch((x: unknown) => x)) as RemoteCallError;
    expect(e).toBeInstanceOf(RemoteCallError);
    expect(e.code).toBe(VIR_ERR.VIR_ERR_NO_DOMAIN);
    expect(e.message).toMatch(/^Domain not found/);
  });

  it('receives lifecycle events from libvirt', async () => {
    const events: DomainEvent[] = [];
    const off = await c.registerDomainEvent(DomainEventId.LIFECYCLE, (e) => events.push(e));
    const { dom } = await c.call(RemoteProcs.DOMAIN_DEFINE_XML, { xml: DOMAIN_XML('fromts').replace("type='bhyve'", "type='test'") });
    await c.call(RemoteProcs.DOMAIN_CREATE, { dom });
    await c.call(RemoteProcs.DOMAIN_DESTROY, { dom: { ...dom, id: -1 } }).catch(() => {});
    const again = await c.call(RemoteProcs.DOMAIN_LOOKUP_BY_NAME, { name: 'fromts' });
    await c.call(RemoteProcs.DOMAIN_UNDEFINE, { dom: again.dom });
    const deadline = Date.now() + 3000;
    while (events.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await off();
    expect(events.map((e) => (e.kind === 'lifecycle' ? [e.dom.name, e.event] : null))).toEqual([
      ['fromts', 0],
      ['fromts', 2],
      ['fromts', 5],
      ['fromts', 1],
    ]);
  });

  it('answers NO_SUPPORT for a driver without a callback, in the words tsvirtd uses', async () => {
    const { dom } = await c.call(RemoteProcs.DOMAIN_LOOKUP_BY_NAME, { name: 'test' });
    const e = (await c.call(RemoteProcs.DOMAIN_OPEN_CONSOLE, { dom, dev_name: null, flags: 0 }).catch((x: unknown) => x)) as RemoteCallError;
    expect(e).toBeInstanceOf(RemoteCallError);
    // the same code and text tsvirtd's dispatch produces for an absent optional DriverApi method
    expect([e.code, e.message]).toEqual([VIR_ERR.VIR_ERR_NO_SUPPORT, 'this function is not supported by the connection driver: virDomainOpenConsole']);
  });
});
