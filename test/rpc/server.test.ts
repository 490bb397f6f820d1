import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RpcClient, RemoteCallError, ConnectionClosedError } from '../../src/rpc/client.js';
import { MessageStatus, MessageType, decodePayload, encodePacket, encodeRawPacket } from '../../src/rpc/packet.js';
import { RemoteProcs } from '../../src/rpc/protocol/remote-procedures.js';
import { REMOTE_PROGRAM, remoteError } from '../../src/rpc/protocol/remote-types.js';
import { KEEPALIVE_PROGRAM } from '../../src/rpc/protocol/keepalive.js';
import { VIR_ERR } from '../../src/xml/errors.js';
import { xint, xstring, xstruct, xvoid } from '../../src/rpc/xdr-codec.js';
import { TestDriver } from '../../src/rpc/test-driver.js';
import { DomainEventId, type DomainEvent, type DomainRef } from '../../src/rpc/driver-api.js';
import { uuidToBytes } from '../../src/xml/uuid.js';
import { DOMAIN_XML, RawClient, startHarness, type Harness } from './harness.js';
import { mutate, prng, xdrShapedBytes } from './prng.js';

const call = (proc: number, serial: number) => ({ prog: REMOTE_PROGRAM, vers: 1, proc, type: MessageType.CALL, serial, status: 0 });

function errorOf(p: { header: { status: number }; payload: Buffer }) {
  expect(p.header.status).toBe(MessageStatus.ERROR);
  return decodePayload(remoteError, p.payload);
}

async function openClient(path: string): Promise<RpcClient> {
  const c = await RpcClient.connect(path);
  await c.open('bhyve:///system');
  return c;
}

const wire = (r: DomainRef) => ({ name: r.name, uuid: uuidToBytes(r.uuid), id: r.id });

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
});

describe('sockets', () => {
  it('creates the read-write socket 0600 and the read-only socket 0666, and removes both on stop', async () => {
    expect(statSync(h.server.rwPath).mode & 0o777).toBe(0o600);
    expect(statSync(h.server.roPath).mode & 0o777).toBe(0o666);
    await h.server.stop();
    expect(existsSync(h.server.rwPath)).toBe(false);
    expect(existsSync(h.server.roPath)).toBe(false);
  });

  it('refuses to start on a socket where a daemon is listening', async () => {
    await expect(startHarnessOn(h.server.rwPath.replace(/\/tsvirt-sock$/, ''))).rejects.toThrow(/already listening/);
  });
});

async function startHarnessOn(socketDir: string) {
  const { RpcServer } = await import('../../src/rpc/server/server.js');
  return RpcServer.start({ driver: new TestDriver(), socketDir });
}

describe('protocol errors keep the connection', () => {
  it('answers a wrong program, a wrong version, an unknown and an unimplemented procedure, then serves the next call', async () => {
    const c = await RawClient.connect(h.server.rwPath);
    c.send(encodePacket({ ...call(1, 1), prog: 0x12345678 }, xvoid, undefined));
    c.send(encodePacket({ ...call(66, 2), vers: 2 }, xvoid, undefined));
    c.send(encodePacket(call(9999, 3), xvoid, undefined));
    c.send(encodePacket(call(8, 4), xvoid, undefined)); // REMOTE_PROC_DOMAIN_ATTACH_DEVICE: not implemented
    c.send(encodePacket(call(66, 5), xvoid, undefined)); // AUTH_LIST
    const e1 = errorOf(await c.reply(1));
    expect(e1.code).toBe(VIR_ERR.VIR_ERR_RPC);
    expect(e1.message).toMatch(/cannot find program/);
    expect(errorOf(await c.reply(2)).message).toMatch(/version 2/);
    const e3 = errorOf(await c.reply(3));
    expect(e3.code).toBe(VIR_ERR.VIR_ERR_NO_SUPPORT);
    expect(e3.message).toMatch(/unknown procedure 9999/);
    const e4 = errorOf(await c.reply(4));
    expect(e4.code).toBe(VIR_ERR.VIR_ERR_NO_SUPPORT);
    expect(e4.message).toBe('this function is not supported by the connection driver: virDomainAttachDevice');
    const ok = await c.reply(5);
    expect(ok.header.status).toBe(MessageStatus.OK);
    expect(h.logs.some((l) => l.msg === 'unimplemented procedure' && l.proc === 8)).toBe(true);
    c.destroy();
  });

  it('answers undecodable arguments, unexpected types and statuses with VIR_ERR_RPC', async () => {
    const c = await RawClient.connect(h.server.rwPath);
    c.send(encodeRawPacket(call(66, 1), Buffer.from([1, 2, 3]))); // AUTH_LIST takes no arguments
    c.send(encodePacket({ ...call(66, 2), type: MessageType.REPLY }, xvoid, undefined));
    c.send(encodePacket({ ...call(66, 3), status: MessageStatus.ERROR }, xvoid, undefined));
    c.send(encodePacket(call(1, 4), xstruct({ name: xint, f: xint }), { name: 1, f: 0 })); // truncated remote_string
    for (const s of [1, 2, 3, 4]) expect(errorOf(await c.reply(s)).code).toBe(VIR_ERR.VIR_ERR_RPC);
    expect(c.closed).toBe(false);
    c.destroy();
  });

  it('answers a string above REMOTE_STRING_MAX (4 MiB) with a decode error, inside the 32 MiB packet limit', async () => {
    const c = await RawClient.connect(h.server.rwPath);
    c.send(encodePacket(call(1, 1), xstruct({ present: xint, flags: xint }), { present: 0, flags: 0 }));
    const big = 'x'.repeat(5 * 1024 * 1024);
    c.send(encodePacket(call(RemoteProcs.DOMAIN_DEFINE_XML.proc, 2), xstruct({ xml: xstring(8 * 1024 * 1024) }), { xml: big }));
    c.send(encodePacket(call(RemoteProcs.CONNECT_NUM_OF_DOMAINS.proc, 3), xvoid, undefined));
    const e = errorOf(await c.reply(2));
    expect(e.code).toBe(VIR_ERR.VIR_ERR_RPC);
    expect(e.message).toMatch(/string length 5242880 exceeds maximum 4194304/);
    expect((await c.reply(3)).header.status).toBe(MessageStatus.OK);
    c.destroy();
  });

  it('refuses calls before CONNECT_OPEN', async () => {
    const c = await RawClient.connect(h.server.rwPath);
    c.send(encodePacket(call(RemoteProcs.DOMAIN_LOOKUP_BY_NAME.proc, 1), xstruct({ name: xstring(100) }), { name: 'x' }));
    expect(errorOf(await c.reply(1)).message).toBe('internal error: connection not open');
    c.destroy();
  });

  it('answers keepalive PING with PONG', async () => {
    const c = await RawClient.connect(h.server.rwPath);
    c.send(encodePacket({ prog: KEEPALIVE_PROGRAM, vers: 1, proc: 1, type: MessageType.MESSAGE, serial: 0, status: 0 }, xvoid, undefined));
    await c.until(() => c.packets.some((p) => p.header.prog === KEEPALIVE_PROGRAM && p.header.proc === 2));
    c.destroy();
  });
});

describe('fatal framing errors close only that connection', () => {
  it.each([
    ['a length above 32 MiB', 0x7fffffff],
    ['a length below the header size', 8],
  ])('closes on %s; other clients go on', async (_n, len) => {
    const good = await openClient(h.server.rwPath);
    const bad = await RawClient.connect(h.server.rwPath);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(len >>> 0, 0);
    bad.send(b);
    await bad.until(() => bad.closed);
    expect((await good.call(RemoteProcs.CONNECT_GET_TYPE, undefined)).type).toBe('TEST');
    await good.close();
  });

  it('survives truncated packets from clients that then vanish', async () => {
    for (let i = 0; i < 10; i++) {
      const c = await RawClient.connect(h.server.rwPath);
      const p = encodePacket(call(66, 1), xvoid, undefined);
      c.send(p.subarray(0, 3 + i * 2));
      c.destroy();
    }
    const good = await openClient(h.server.rwPath);
    expect((await good.call(RemoteProcs.CONNECT_NUM_OF_DOMAINS, undefined)).num).toBe(0);
    await good.close();
  });
});

describe('hostile byte streams (fuzz)', () => {
  it('keeps serving after random and mutated packets', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 7);
    const rand = prng(seed);
    const procs = [1, 3, 6, 11, 16, 22, 23, 24, 60, 66, 110, 201, 212, 273, 316, 350, 9999, -1];
    for (let round = 0; round < 40; round++) {
      const c = await RawClient.connect(h.server.rwPath);
      // half the rounds open the connection first so that handlers past the open check run
      if (round % 2 === 0) {
        c.send(encodePacket(call(1, 1), xstruct({ present: xint, name: xstring(100), flags: xint }), { present: 1, name: 'bhyve:///system', flags: 0 }));
      }
      for (let i = 0; i < 25; i++) {
        const payload = xdrShapedBytes(rand, Math.floor(rand() * 16));
        const proc = procs[Math.floor(rand() * procs.length)] as number;
        let pkt = encodeRawPacket({ ...call(proc, 100 + i), type: rand() < 0.85 ? 0 : Math.floor(rand() * 8) }, payload);
        if (rand() < 0.3) {
          const m = mutate(rand, pkt.subarray(4));
          const len = Buffer.alloc(4);
          len.writeUInt32BE(m.length + 4, 0);
          pkt = Buffer.concat([len, m]);
        }
        c.send(pkt);
      }
      await new Promise((r) => setTimeout(r, 5));
      c.destroy();
    }
    const good = await openClient(h.server.rwPath);
    expect((await good.call(RemoteProcs.CONNECT_GET_TYPE, undefined)).type).toBe('TEST');
    await good.close();
    expect(h.logs.filter((l) => l.level === 'error')).toEqual([]);
  });
});

describe('clients vanishing and crowds', () => {
  it('drops the reply of a client that vanished mid-call and serves others', async () => {
    const slow = new TestDriver();
    const original = slow.lookupDomainByName.bind(slow);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    slow.lookupDomainByName = async (name) => {
      await gate;
      return original(name);
    };
    const h2 = await startHarness({}, slow);
    try {
      const c = await openClient(h2.server.rwPath);
      const pending = c.call(RemoteProcs.DOMAIN_LOOKUP_BY_NAME, { name: 'x' });
      await new Promise((r) => setTimeout(r, 20));
      c.destroy();
      await expect(pending).rejects.toBeInstanceOf(ConnectionClosedError);
      release();
      await new Promise((r) => setTimeout(r, 20));
      const other = await openClient(h2.server.rwPath);
      expect((await other.call(RemoteProcs.CONNECT_NUM_OF_DOMAINS, undefined)).num).toBe(0);
      await other.close();
      expect(h2.logs.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      await h2.stop();
    }
  });

  it('serves 200 concurrent clients each defining, looking up and undefining its own domain', async () => {
    const clients = await Promise.all(Array.from({ length: 200 }, () => openClient(h.server.rwPath)));
    await Promise.all(
      clients.map(async (c, i) => {
        const { dom } = await c.call(RemoteProcs.DOMAIN_DEFINE_XML, { xml: DOMAIN_XML(`crowd${i}`) });
        const found = await c.call(RemoteProcs.DOMAIN_LOOKUP_BY_NAME, { name: `crowd${i}` });
        expect(found.dom.uuid.equals(dom.uuid)).toBe(true);
        await c.call(RemoteProcs.DOMAIN_UNDEFINE, { dom });
      }),
    );
    expect(h.server.clientCount).toBe(200);
    await Promise.all(clients.map((c) => c.close()));
    const deadline = Date.now() + 5000;
    while (h.server.clientCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(h.server.clientCount).toBe(0);
    expect((await h.driver.listDomains()).length).toBe(0);
  });
});

describe('resource bounds', () => {
  it('disconnects a client that sends calls and never reads the replies', async () => {
    const h2 = await startHarness({ limits: { maxOutputBytes: 64 * 1024 } });
    try {
      const c = await RawClient.connect(h2.server.rwPath);
      c.socket.pause(); // never read
      c.send(encodePacket(call(1, 1), xstruct({ present: xint, flags: xint }), { present: 0, flags: 0 }));
      const many = Buffer.concat(Array.from({ length: 4000 }, (_, i) => encodePacket(call(RemoteProcs.CONNECT_GET_CAPABILITIES.proc, 10 + i), xvoid, undefined)));
      c.send(many);
      const deadline = Date.now() + 10_000;
      while (!h2.logs.some((l) => l.msg === 'closing client that does not read its replies') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(h2.logs.some((l) => l.msg === 'closing client that does not read its replies')).toBe(true);
      const good = await openClient(h2.server.rwPath);
      expect((await good.call(RemoteProcs.CONNECT_GET_TYPE, undefined)).type).toBe('TEST');
      await good.close();
      c.destroy();
    } finally {
      await h2.stop();
    }
  });

  it('caps event callbacks per connection', async () => {
    const c = await openClient(h.server.rwPath);
    const regs = Array.from({ length: 1024 }, () => c.call(RemoteProcs.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, { eventID: 0, dom: null }));
    await Promise.all(regs);
    await expect(c.call(RemoteProcs.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, { eventID: 0, dom: null })).rejects.toMatchObject({
      code: VIR_ERR.VIR_ERR_OPERATION_FAILED,
    });
    await expect(c.call(RemoteProcs.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, { eventID: 99, dom: null })).rejects.toMatchObject({
      code: VIR_ERR.VIR_ERR_INVALID_ARG,
    });
    await c.close();
  });
});

describe('read-only socket', () => {
  it('allows queries and refuses every state-changing call with VIR_ERR_OPERATION_DENIED', async () => {
    const rw = await openClient(h.server.rwPath);
    const { dom } = await rw.call(RemoteProcs.DOMAIN_DEFINE_XML, { xml: DOMAIN_XML('ro1') });
    const ro = await openClient(h.server.roPath);
    expect((await ro.call(RemoteProcs.CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags: 0 })).ret).toBe(1);
    expect((await ro.call(RemoteProcs.DOMAIN_GET_STATE, { dom, flags: 0 })).state).toBe(5);
    const denied: Array<Promise<unknown>> = [
      ro.call(RemoteProcs.DOMAIN_CREATE, { dom }),
      ro.call(RemoteProcs.DOMAIN_DEFINE_XML, { xml: DOMAIN_XML('ro2') }),
      ro.call(RemoteProcs.DOMAIN_UNDEFINE, { dom }),
      ro.call(RemoteProcs.DOMAIN_SET_AUTOSTART, { dom, autostart: 1 }),
      ro.call(RemoteProcs.DOMAIN_DESTROY, { dom }),
      ro.call(RemoteProcs.DOMAIN_GET_XML_DESC, { dom, flags: 1 }),
      ro.call(RemoteProcs.DOMAIN_OPEN_CONSOLE, { dom, dev_name: null, flags: 0 }),
    ];
    for (const p of denied) {
      const e = (await p.catch((x: unknown) => x)) as RemoteCallError;
      expect(e).toBeInstanceOf(RemoteCallError);
      expect(e.code).toBe(VIR_ERR.VIR_ERR_OPERATION_DENIED);
      expect(e.message).toMatch(/^operation forbidden: (read only access prevents vir|virDomainGetXMLDesc with secure flag)/);
    }
    expect((await rw.call(RemoteProcs.DOMAIN_GET_STATE, { dom, flags: 0 })).state).toBe(5);
    await ro.close();
    await rw.close();
  });

  it('makes a read-write connection read-only when the client asks (VIR_CONNECT_RO)', async () => {
    const c = await RpcClient.connect(h.server.rwPath);
    await c.open('bhyve:///system', 1);
    await expect(c.call(RemoteProcs.DOMAIN_DEFINE_XML, { xml: DOMAIN_XML('x') })).rejects.toMatchObject({ code: VIR_ERR.VIR_ERR_OPERATION_DENIED });
    await c.close();
  });
});

describe('peer credentials', () => {
  const setpriv = '/usr/bin/setpriv';
  it.skipIf(process.geteuid?.() !== 0 || !existsSync(setpriv))('refuses another uid on a world-writable read-write socket, admits it read-only', async () => {
    const h2 = await startHarness({ rwMode: 0o666 });
    try {
      const script = (path: string) =>
        `import libvirt,sys\ntry:\n  c=libvirt.open('bhyve+unix:///system?socket=${path}')\n  print('OPEN', c.numOfDomains())\nexcept libvirt.libvirtError as e:\n  print('ERR', e.get_error_code(), e)\n`;
      const run = (path: string) =>
        new Promise<string>((resolve) => {
          execFile(setpriv, ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/python3', '-c', script(path)], (_e, out, err) => resolve(out + err));
        });
      const rw = await run(h2.server.rwPath);
      expect(rw).toMatch(/ERR 88 .*access denied: client uid 65534/);
      const ro = await run(h2.server.roPath);
      expect(ro).toMatch(/OPEN 0/);
      expect(h2.logs.some((l) => l.msg === 'client refused' && l.uid === 65534)).toBe(true);
      expect(h2.logs.some((l) => l.msg === 'client connected' && l.socket === 'ro' && l.uid === 65534)).toBe(true);
    } finally {
      await h2.stop();
    }
  });

  it('without a working ss: admits on an owner-only socket, refuses on a wider one', async () => {
    const { PeerCredResolver } = await import('../../src/rpc/server/peer-cred.js');
    const broken = () => new PeerCredResolver('/nonexistent/ss');
    const tight = await startHarness({ peerCred: broken() });
    const wide = await startHarness({ peerCred: broken(), rwMode: 0o660 });
    try {
      const a = await openClient(tight.server.rwPath);
      expect((await a.call(RemoteProcs.CONNECT_GET_TYPE, undefined)).type).toBe('TEST');
      await a.close();
      const b = await RpcClient.connect(wide.server.rwPath);
      const e = (await b.open('bhyve:///system').catch((x: unknown) => x)) as RemoteCallError;
      expect(e.code).toBe(VIR_ERR.VIR_ERR_ACCESS_DENIED);
      expect(e.message).toMatch(/^access denied: cannot verify peer credentials: ss failed/);
      b.destroy();
      const ro = await openClient(wide.server.roPath);
      await ro.close();
    } finally {
      await tight.stop();
      await wide.stop();
    }
  });

  it('identifies this process as the peer of its own connection', async () => {
    const c = await openClient(h.server.rwPath);
    const entry = h.logs.find((l) => l.msg === 'client connected');
    expect(entry?.pid).toBe(process.pid);
    expect(entry?.uid).toBe(process.geteuid?.());
    await c.close();
  });
});

describe('keepalive', () => {
  it('drops a client that enabled keepalive and stops answering', async () => {
    const h2 = await startHarness({ limits: { keepaliveIntervalMs: 100, keepaliveCount: 2 } });
    try {
      const c = await RawClient.connect(h2.server.rwPath);
      c.send(encodePacket(call(60, 1), xint, 10)); // CONNECT_SUPPORTS_FEATURE(PROGRAM_KEEPALIVE)
      await c.reply(1);
      await c.until(() => c.closed, 3000);
      expect(c.packets.filter((p) => p.header.prog === KEEPALIVE_PROGRAM && p.header.proc === 1).length).toBe(2);
      expect(h2.logs.some((l) => l.msg === 'closing client: no keepalive response')).toBe(true);
    } finally {
      await h2.stop();
    }
  });

  it('keeps a client that answers pings', async () => {
    // generous count: on a loaded machine a PONG may take a few intervals to come back
    const h2 = await startHarness({ limits: { keepaliveIntervalMs: 100, keepaliveCount: 5 } });
    try {
      const c = await openClient(h2.server.rwPath);
      await new Promise((r) => setTimeout(r, 1000));
      expect(h2.logs.filter((l) => l.msg === 'keepalive ping').length).toBeGreaterThanOrEqual(3);
      expect(c.isClosed).toBe(false);
      expect((await c.call(RemoteProcs.CONNECT_GET_TYPE, undefined)).type).toBe('TEST');
      await c.close();
    } finally {
      await h2.stop();
    }
  });
});

describe('events and streams through the RPC client', () => {
  it('delivers lifecycle events to registered callbacks only, filtered by domain', async () => {
    const c = await openClient(h.server.rwPath);
    const all: DomainEvent[] = [];
    const mine: DomainEvent[] = [];
    await c.registerDomainEvent(DomainEventId.LIFECYCLE, (e) => all.push(e));
    const { dom } = await c.call(RemoteProcs.DOMAIN_DEFINE_XML, { xml: DOMAIN_XML('ev1') });
    await c.registerDomainEvent(DomainEventId.LIFECYCLE, (e) => mine.push(e), dom);
    await c.call(RemoteProcs.DOMAIN_DEFINE_XML, { xml: DOMAIN_XML('ev2') });
    await c.call(RemoteProcs.DOMAIN_CREATE, { dom });
    await c.call(RemoteProcs.DOMAIN_DESTROY, { dom: { ...dom, id: 1 } });
    const deadline = Date.now() + 5000;
    while ((all.length < 4 || mine.length < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(all.map((e) => (e.kind === 'lifecycle' ? [e.dom.name, e.event, e.detail] : null))).toEqual([
      ['ev1', 0, 0], ['ev2', 0, 0], ['ev1', 2, 0], ['ev1', 5, 1],
    ]);
    expect(mine.map((e) => (e.kind === 'lifecycle' ? e.event : -1))).toEqual([2, 5]);
    await c.close();
  });

  it('carries console bytes both ways and finishes cleanly', async () => {
    const c = await openClient(h.server.rwPath);
    const { dom } = await c.call(RemoteProcs.DOMAIN_CREATE_XML, { xml_desc: DOMAIN_XML('con1'), flags: 0 });
    const s = await c.openConsole(dom);
    const chunks: Buffer[] = [];
    s.on('data', (b: Buffer) => chunks.push(b));
    s.write('hello over the stream\r\n');
    const deadline = Date.now() + 5000;
    while (!Buffer.concat(chunks).toString().includes('hello over the stream') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(Buffer.concat(chunks).toString()).toMatch(/test console of domain con1[^]*hello over the stream/);
    await new Promise<void>((resolve) => s.end(resolve));
    const again = await c.openConsole(dom); // the first session is gone
    again.destroy();
    await c.close();
  });

  it('ends the client stream when the domain stops', async () => {
    const c = await openClient(h.server.rwPath);
    const { dom } = await c.call(RemoteProcs.DOMAIN_CREATE_XML, { xml_desc: DOMAIN_XML('con2'), flags: 0 });
    const s = await c.openConsole(dom);
    s.resume();
    const ended = new Promise<void>((resolve) => s.once('end', resolve));
    await c.call(RemoteProcs.DOMAIN_DESTROY, { dom });
    await ended;
    await c.close();
  });
});

describe('lookups and lists through the dispatch table', () => {
  it('lists with virConnectListAllDomains filters and legacy list calls', async () => {
    const c = await openClient(h.server.rwPath);
    const a = (await c.call(RemoteProcs.DOMAIN_DEFINE_XML, { xml: DOMAIN_XML('la') })).dom;
    await c.call(RemoteProcs.DOMAIN_DEFINE_XML, { xml: DOMAIN_XML('lb') });
    await c.call(RemoteProcs.DOMAIN_CREATE_XML, { xml_desc: DOMAIN_XML('lt'), flags: 0 });
    await c.call(RemoteProcs.DOMAIN_CREATE, { dom: a });
    await c.call(RemoteProcs.DOMAIN_SET_AUTOSTART, { dom: a, autostart: 1 });
    const names = async (flags: number) =>
      (await c.call(RemoteProcs.CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags })).domains.map((d) => d.name).sort();
    expect(await names(0)).toEqual(['la', 'lb', 'lt']);
    expect(await names(1)).toEqual(['la', 'lt']);
    expect(await names(2)).toEqual(['lb']);
    expect(await names(8)).toEqual(['lt']);
    expect(await names(1024)).toEqual(['la']);
    expect(await names(64 | 16)).toEqual(['la', 'lb', 'lt']);
    expect((await c.call(RemoteProcs.CONNECT_LIST_ALL_DOMAINS, { need_results: 0, flags: 0 })).domains).toEqual([]);
    await expect(c.call(RemoteProcs.CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags: 1 << 20 })).rejects.toMatchObject({
      code: VIR_ERR.VIR_ERR_INVALID_ARG,
    });
    expect((await c.call(RemoteProcs.CONNECT_LIST_DOMAINS, { maxids: 10 })).ids).toEqual([1, 2]);
    expect((await c.call(RemoteProcs.CONNECT_LIST_DEFINED_DOMAINS, { maxnames: 10 })).names).toEqual(['lb']);
    expect((await c.call(RemoteProcs.CONNECT_NUM_OF_DOMAINS, undefined)).num).toBe(2);
    expect((await c.call(RemoteProcs.CONNECT_NUM_OF_DEFINED_DOMAINS, undefined)).num).toBe(1);
    const byId = await c.call(RemoteProcs.DOMAIN_LOOKUP_BY_ID, { id: 2 });
    expect(byId.dom.name).toBe('la');
    const byUuid = await c.call(RemoteProcs.DOMAIN_LOOKUP_BY_UUID, { uuid: a.uuid });
    expect(byUuid.dom).toEqual({ ...wire({ name: 'la', uuid: byUuid.dom.uuid.toString('hex').replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5'), id: 2 }) });
    await expect(c.call(RemoteProcs.DOMAIN_LOOKUP_BY_NAME, { name: 'none' })).rejects.toMatchObject({
      code: VIR_ERR.VIR_ERR_NO_DOMAIN,
      message: "Domain not found: no domain with matching name 'none'",
    });
    await c.close();
  });
});
