/**
 * One set of DriverApi behaviours run twice: against the TEST driver directly, and through
 * RemoteDriver → libvirt RPC → tsvirtd's server → the TEST driver. The protocol must not
 * change what a caller of the DriverApi sees (values, errors, events, console bytes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteDriver } from '../../src/rpc/remote-driver.js';
import { TestDriver } from '../../src/rpc/test-driver.js';
import { DomainState, type DomainEvent, type DriverApi } from '../../src/rpc/driver-api.js';
import { VIR_ERR } from '../../src/xml/errors.js';
import { DOMAIN_XML, startHarness, type Harness } from './harness.js';

interface Subject {
  name: string;
  make(): Promise<{ driver: DriverApi; done(): Promise<void> }>;
}

const subjects: Subject[] = [
  {
    name: 'TEST driver, direct',
    make: async () => ({ driver: new TestDriver(), done: async () => {} }),
  },
  {
    name: 'TEST driver through RemoteDriver and tsvirtd',
    make: async () => {
      const h: Harness = await startHarness();
      const driver = await RemoteDriver.connect(h.server.rwPath, 'bhyve:///system');
      return {
        driver,
        done: async () => {
          await driver.close();
          await h.stop();
        },
      };
    },
  },
];

describe.each(subjects)('DriverApi: $name', (subject) => {
  let driver: DriverApi;
  let done: () => Promise<void>;
  const events: DomainEvent[] = [];

  beforeAll(async () => {
    ({ driver, done } = await subject.make());
    driver.subscribe((e) => events.push(e));
    await (driver as { eventsReady?: () => Promise<void> }).eventsReady?.();
  });
  afterAll(async () => {
    await done();
  });

  it('defines, starts, pauses and stops with libvirt states and reasons', async () => {
    const d = await driver.defineDomain(DOMAIN_XML('rd1', '9e1f3c22-0b7e-4f3a-9d41-2f5c8e7a9b10'), 0);
    expect(d).toEqual({ name: 'rd1', uuid: '9e1f3c22-0b7e-4f3a-9d41-2f5c8e7a9b10', id: -1 });
    const started = await driver.startDomain(d, 0);
    expect(started.id).toBe(1);
    expect(await driver.getDomainState(started, 0)).toEqual({ state: DomainState.RUNNING, reason: 1 });
    await driver.suspendDomain(started);
    const info = await driver.getDomainInfo(started);
    expect(info).toMatchObject({ state: DomainState.PAUSED, maxMemKiB: 131072n, memoryKiB: 131072n, nrVirtCpu: 1 });
    await driver.resumeDomain(started);
    await driver.setDomainAutostart(started, true);
    const list = await driver.listDomains();
    expect(list).toEqual([
      { ref: { name: 'rd1', uuid: d.uuid, id: 1 }, state: DomainState.RUNNING, persistent: true, autostart: true, hasManagedSave: false, hasSnapshot: false },
    ]);
    expect(await driver.getDomainXml(started, 0)).toContain('id="1"');
    expect(await driver.getDomainOsType(started)).toBe('hvm');
    expect(await driver.isDomainActive(started)).toBe(true);
    expect(await driver.lookupDomainById(1)).toEqual(started);
    expect(await driver.lookupDomainByUuid(d.uuid)).toEqual(started);
    await driver.destroyDomain(started, 0);
    expect(await driver.getDomainState(d, 0)).toEqual({ state: DomainState.SHUTOFF, reason: 2 });
    await driver.undefineDomain(d, 0);
    expect(await driver.listDomains()).toEqual([]);
  });

  it('keeps libvirt error codes and messages', async () => {
    const e = (await driver.lookupDomainByName('absent').catch((x: unknown) => x)) as { code: number; message: string };
    expect(e.code).toBe(VIR_ERR.VIR_ERR_NO_DOMAIN);
    expect(e.message).toBe("Domain not found: no domain with matching name 'absent'");
    const x = (await driver.defineDomain('<domain>', 0).catch((y: unknown) => y)) as { code: number };
    expect(x.code).toBe(VIR_ERR.VIR_ERR_XML_ERROR);
  });

  it('delivers the same lifecycle events', async () => {
    const deadline = Date.now() + 5000;
    while (events.length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(events.map((e) => (e.kind === 'lifecycle' ? `${e.dom.name}:${e.event}:${e.detail}` : `${e.dom.name}:reboot`))).toEqual([
      'rd1:0:0', 'rd1:2:0', 'rd1:3:0', 'rd1:4:0', 'rd1:5:1', 'rd1:1:0',
    ]);
  });

  it('carries console bytes', async () => {
    const d = await driver.createDomain(DOMAIN_XML('rdc'), 0);
    const c = await driver.openConsole?.(d, null, 0);
    if (!c) throw new Error('openConsole missing');
    let seen = '';
    c.on('data', (b: Buffer) => (seen += b.toString()));
    c.write('abc');
    const deadline = Date.now() + 2000;
    while (!seen.includes('abc') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toMatch(/test console of domain rdc[^]*abc/);
    c.destroy();
    await driver.destroyDomain(d, 0);
  });
});
