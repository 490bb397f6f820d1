import { describe, expect, it } from 'vitest';
import { TestDriver } from '../../src/rpc/test-driver.js';
import { DomainState, type DomainEvent } from '../../src/rpc/driver-api.js';
import { VIR_ERR } from '../../src/xml/errors.js';
import { DOMAIN_XML } from './harness.js';

const flush = () => new Promise((r) => setImmediate(r));

describe('TEST driver', () => {
  it('follows libvirt lifecycle rules and emits events after the call', async () => {
    const t = new TestDriver();
    const events: DomainEvent[] = [];
    t.subscribe((e) => events.push(e));
    const d = await t.defineDomain(DOMAIN_XML('a'), 0);
    expect(events).toEqual([]); // delivered later, as libvirt does
    await flush();
    expect(events.length).toBe(1);
    expect(d.id).toBe(-1);
    await expect(t.suspendDomain(d)).rejects.toMatchObject({ code: VIR_ERR.VIR_ERR_OPERATION_INVALID });
    const r = await t.startDomain(d, 0);
    expect(r.id).toBe(1);
    await expect(t.startDomain(d, 0)).rejects.toMatchObject({ message: 'Requested operation is not valid: domain is already running' });
    await t.undefineDomain(d, 0); // running: becomes transient
    expect(await t.isDomainPersistent(d)).toBe(false);
    await t.destroyDomain(d, 0); // transient and stopped: gone
    await expect(t.lookupDomainByName('a')).rejects.toMatchObject({ code: VIR_ERR.VIR_ERR_NO_DOMAIN });
  });

  it('starts paused with VIR_DOMAIN_START_PAUSED and refuses duplicates', async () => {
    const t = new TestDriver();
    const d = await t.defineDomain(DOMAIN_XML('p', '00000000-0000-0000-0000-000000000001'), 0);
    await t.startDomain(d, 1);
    expect(await t.getDomainState(d, 0)).toEqual({ state: DomainState.PAUSED, reason: 1 });
    await expect(t.defineDomain(DOMAIN_XML('p'), 0)).rejects.toMatchObject({ code: VIR_ERR.VIR_ERR_OPERATION_FAILED });
    await expect(t.defineDomain(DOMAIN_XML('q', '00000000-0000-0000-0000-000000000001'), 0)).rejects.toMatchObject({
      code: VIR_ERR.VIR_ERR_OPERATION_FAILED,
    });
  });

  it('reads memory units and refuses malformed XML with VIR_ERR_XML_ERROR, unknown units as libvirt does', async () => {
    const t = new TestDriver();
    const d = await t.defineDomain("<domain type='x'><name>m</name><memory unit='GiB'>1</memory><currentMemory unit='MB'>512</currentMemory></domain>", 0);
    const info = await t.getDomainInfo(d);
    expect(info.maxMemKiB).toBe(1048576n);
    expect(info.memoryKiB).toBe(500000n);
    expect(info.nrVirtCpu).toBe(1);
    for (const bad of ['<domain>', '<domain><memory>1</memory></domain>', '<domain><name>x</name></domain>', "<domain><name>x</name><memory>-1</memory></domain>", '<nodomain/>']) {
      await expect(t.defineDomain(bad, 0)).rejects.toMatchObject({ code: VIR_ERR.VIR_ERR_XML_ERROR });
    }
    // virScaleInteger: VIR_ERR_INVALID_ARG "unknown suffix"
    await expect(t.defineDomain("<domain><name>x</name><memory unit='parsec'>1</memory></domain>", 0)).rejects.toMatchObject({
      code: VIR_ERR.VIR_ERR_INVALID_ARG,
      message: expect.stringMatching(/unknown suffix 'parsec'/),
    });
  });
});
