/**
 * BhyveDriver entry points over a real state root, with the compiled supervisor and the
 * VM stand-in (test scaffolding) as VM program, and a test translator until the real
 * translation is merged.
 */
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BhyveDriver, VIR_DOMAIN_XML_INACTIVE, type DomainEvent } from '../../../src/driver/driver.js';
import type { LoadProblem } from '../../../src/driver/domain-list.js';
import * as S from '../../../src/driver/domain-state.js';
import { identityAlive } from '../../../src/driver/proc-identity.js';
import { isVirError, VIR_ERR_INVALID_ARG, VIR_ERR_NO_DOMAIN, VIR_ERR_NO_SUPPORT, VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID } from '../../../src/xml/errors.js';
import { buildLifecycle, standInPath, supervisorEntry } from './helpers/build.js';
import { standInDomain } from './helpers/stand-in-domain.js';
import { bhyveTranslator } from '../../../src/driver/translator.js';
import { waitFor } from './helpers/wait.js';
import { removeRoot } from './helpers/cleanup.js';

let root: string;
let drv: BhyveDriver;
let problems: LoadProblem[];
const U1 = '11111111-1111-4111-8111-111111111111';
const U2 = '22222222-2222-4222-8222-222222222222';

async function open(extra: Partial<Parameters<typeof BhyveDriver.open>[0]> = {}): Promise<BhyveDriver> {
  return BhyveDriver.open({
    root,
    emulator: [process.execPath, standInPath()],
    supervisorEntry: supervisorEntry(),
    translator: bhyveTranslator({ root }),
    onProblem: (p) => problems.push(p),
    readyTimeoutMs: 10_000,
    ...extra,
  });
}

beforeAll(async () => {
  await buildLifecycle();
}, 600_000);
beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsvirt-drv-'));
  problems = [];
  drv = await open();
});
afterEach(async () => {
  await drv.close();
  await removeRoot(root);
});

function code(e: unknown): number {
  return isVirError(e) ? e.code : -1;
}

describe('BhyveDriver', () => {
  it('defines, lists, dumps and undefines a domain, with DEFINED/UNDEFINED events', async () => {
    const seen: DomainEvent[] = [];
    drv.subscribe((e) => seen.push(e));
    await drv.eventsReady();
    const ref = await drv.defineDomain(standInDomain('vm1', U1), 0);
    expect(ref).toEqual({ name: 'vm1', uuid: U1, id: -1 });
    expect(await drv.listDomains()).toEqual([{ ref, state: S.VIR_DOMAIN_SHUTOFF, persistent: true, autostart: false, hasManagedSave: false, hasSnapshot: false }]);
    expect(await drv.getDomainState(ref, 0)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: S.VIR_DOMAIN_SHUTOFF_UNKNOWN });
    const xml = await drv.getDomainXml(ref, 0);
    expect(xml).toContain('<name>vm1</name>');
    expect(xml).not.toContain(" id='");
    await drv.defineDomain(standInDomain('vm1', U1).replace('131072', '262144'), 0);
    expect(await drv.getDomainMaxMemory(ref)).toBe(262144n);
    await drv.undefineDomain(ref, 0);
    expect(await drv.listDomains()).toEqual([]);
    await expect(drv.lookupDomainByName('vm1')).rejects.toMatchObject({ code: VIR_ERR_NO_DOMAIN, message: "Domain not found: no domain with matching name 'vm1'" });
    await waitFor('events', () => seen.length === 3);
    expect(seen.map((e) => (e.kind === 'lifecycle' ? [e.event, e.detail] : e.kind))).toEqual([
      [S.VIR_DOMAIN_EVENT_DEFINED, S.VIR_DOMAIN_EVENT_DEFINED_ADDED],
      [S.VIR_DOMAIN_EVENT_DEFINED, S.VIR_DOMAIN_EVENT_DEFINED_UPDATED],
      [S.VIR_DOMAIN_EVENT_UNDEFINED, S.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED],
    ]);
  });

  it('refuses a name already defined with another uuid, and a uuid already used by another name', async () => {
    await drv.defineDomain(standInDomain('vm1', U1), 0);
    const a = await drv.defineDomain(standInDomain('vm1', U2), 0).catch((e) => e);
    expect([code(a), a.message]).toEqual([VIR_ERR_OPERATION_FAILED, `operation failed: domain 'vm1' is already defined with uuid ${U1}`]);
    const b = await drv.defineDomain(standInDomain('vm2', U1), 0).catch((e) => e);
    expect([code(b), b.message]).toEqual([VIR_ERR_OPERATION_FAILED, `operation failed: domain 'vm1' already exists with uuid ${U1}`]);
  });

  it('refuses unsupported lifecycle actions and unsupported flags', async () => {
    const xml = standInDomain('vm1', U1, { extra: '<on_crash>coredump-destroy</on_crash>' });
    await expect(drv.defineDomain(xml, 0)).rejects.toThrow(/on_crash action 'coredump-destroy' is not supported/);
    await expect(drv.defineDomain(standInDomain('vm1', U1), 0x80)).rejects.toMatchObject({ code: VIR_ERR_INVALID_ARG, message: 'invalid argument: unsupported flags (0x80) in function bhyveDomainDefineXMLFlags' });
  });

  it('starts: running (booted) with an id, live XML with id and aliases, info, messages', async () => {
    const ref = await drv.defineDomain(standInDomain('vm1', U1), 0);
    const started = await drv.startDomain(ref, 0);
    expect(started.id).toBeGreaterThan(0);
    expect(await drv.lookupDomainById(started.id)).toEqual(started);
    expect(await drv.getDomainState(ref, 0)).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: S.VIR_DOMAIN_RUNNING_BOOTED });
    const live = await drv.getDomainXml(ref, 0);
    expect(live).toContain(`<domain type='bhyve' id='${started.id}'`);
    expect(live).toContain("<alias name='serial0'/>");
    const inactive = await drv.getDomainXml(ref, VIR_DOMAIN_XML_INACTIVE);
    expect(inactive).not.toContain(' id=');
    expect(inactive).not.toContain('<alias');
    const info = await drv.getDomainInfo(ref);
    expect(info).toMatchObject({ state: S.VIR_DOMAIN_RUNNING, maxMemKiB: 131072n, memoryKiB: 131072n, nrVirtCpu: 1 });
    expect(info.cpuTimeNs).toBeGreaterThan(0n);
    expect(await drv.getDomainMessages(ref, 0)).toEqual([]);
    await expect(drv.startDomain(ref, 0)).rejects.toMatchObject({ code: VIR_ERR_OPERATION_INVALID, message: 'Requested operation is not valid: domain is already running' });
    await drv.destroyDomain(ref, 0);
    expect(await drv.getDomainState(ref, 0)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: S.VIR_DOMAIN_SHUTOFF_DESTROYED });
    expect((await drv.getDomainInfo(ref)).cpuTimeNs).toBe(0n);
    const again = await drv.startDomain(ref, 0);
    expect(again.id).toBeGreaterThan(started.id);
    await drv.destroyDomain(ref, 0);
  });

  it('keeps the changes the translation made to a QEMU/KVM domain as its messages', async () => {
    const xml = standInDomain('kvm1', U2, { type: 'kvm' })
      .replace("<type arch='x86_64'>hvm</type>", "<type arch='x86_64' machine='pc-q35-7.2'>hvm</type>")
      .replace('<devices>', "<devices>\n    <controller type='pci' index='1' model='pcie-root-port'/>");
    const ref = await drv.createDomain(xml, 0);
    expect(await drv.getDomainMessages(ref, 0)).toEqual([
      "machine type 'pc-q35-7.2' has no bhyve equivalent: the guest gets bhyve's host bridge, LPC and one PCI bus",
      '1 controller(s) removed (bhyve has one PCI bus): pci pcie-root-port 1',
    ]);
    // The live XML shows what runs; nothing was persisted (transient domain).
    expect(await drv.getDomainXml(ref, 0)).not.toContain('pcie-root-port');
    await drv.destroyDomain(ref, 0);
  });

  it('refuses at start a domain that would need a host boot loader (tsvirt runs none)', async () => {
    const xml = standInDomain('noboot', U2)
      .replace(/<kernel>.*<\/kernel>/, '')
      .replace('<devices>', "<devices>\n    <disk type='file' device='disk'><source file='/var/tmp/noboot.img'/><target dev='vda' bus='virtio'/></disk>");
    const ref = await drv.defineDomain(xml, 0);
    await expect(drv.startDomain(ref, 0)).rejects.toThrow(/would boot through the host boot loader '\/usr\/sbin\/bhyveload'/);
    expect(await drv.getDomainState(ref, 0)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: S.VIR_DOMAIN_SHUTOFF_UNKNOWN });
  });

  it('operations on an inactive domain fail like libvirt', async () => {
    const ref = await drv.defineDomain(standInDomain('vm1', U1), 0);
    for (const op of [() => drv.destroyDomain(ref, 0), () => drv.shutdownDomain(ref, 0), () => drv.rebootDomain(ref, 0), () => drv.resetDomain(ref, 0), () => drv.suspendDomain(ref)]) {
      await expect(op()).rejects.toMatchObject({ code: VIR_ERR_OPERATION_INVALID, message: 'Requested operation is not valid: domain is not running' });
    }
    await expect(drv.resumeDomain(ref)).rejects.toMatchObject({ code: VIR_ERR_OPERATION_INVALID });
    await expect(drv.openConsole(ref, null, 0)).rejects.toMatchObject({ code: VIR_ERR_OPERATION_INVALID });
  });

  it('creates a transient domain that disappears when destroyed; undefine of a running domain makes it transient', async () => {
    const t = await drv.createDomain(standInDomain('trans', U1), 0);
    expect(t.id).toBeGreaterThan(0);
    expect(await drv.isDomainPersistent(t)).toBe(false);
    await expect(drv.setDomainAutostart(t, true)).rejects.toMatchObject({ code: VIR_ERR_OPERATION_INVALID });
    await expect(drv.createDomain(standInDomain('trans', U1), 0)).rejects.toThrow(/domain 'trans' is already active/);
    await drv.destroyDomain(t, 0);
    await expect(drv.lookupDomainByUuid(U1)).rejects.toMatchObject({ code: VIR_ERR_NO_DOMAIN });

    const p = await drv.defineDomain(standInDomain('pers', U2), 0);
    await drv.startDomain(p, 0);
    await drv.undefineDomain(p, 0);
    expect(await drv.isDomainPersistent(p)).toBe(false);
    expect(await drv.isDomainActive(p)).toBe(true);
    await drv.destroyDomain(p, 0);
    expect(await drv.listDomains()).toEqual([]);
  });

  it('suspend/resume, shutdown and console through the driver', async () => {
    const ref = await drv.startDomain(await drv.defineDomain(standInDomain('vm1', U1), 0), 0);
    await drv.suspendDomain(ref);
    expect(await drv.getDomainState(ref, 0)).toEqual({ state: S.VIR_DOMAIN_PAUSED, reason: S.VIR_DOMAIN_PAUSED_USER });
    await drv.resumeDomain(ref);
    expect(await drv.getDomainState(ref, 0)).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: S.VIR_DOMAIN_RUNNING_UNPAUSED });
    const con = await drv.openConsole(ref, 'serial0', 0);
    let out = '';
    con.on('data', (b: Buffer) => (out += b.toString()));
    con.resume();
    await waitFor('banner', () => out.includes('booted'));
    con.destroy();
    await expect(drv.openConsole(ref, 'serial7', 0)).rejects.toThrow(/com8/);
    await expect(drv.openConsole(ref, 'nonsense', 0)).rejects.toMatchObject({ code: VIR_ERR_INVALID_ARG });
    await drv.shutdownDomain(ref, 0);
    await waitFor('shutoff', async () => (await drv.getDomainState(ref, 0)).state === S.VIR_DOMAIN_SHUTOFF);
    expect(await drv.getDomainState(ref, 0)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: S.VIR_DOMAIN_SHUTOFF_SHUTDOWN });
  });

  it('reports and skips corrupt files without failing the listing', async () => {
    await drv.defineDomain(standInDomain('good', U1), 0);
    writeFileSync(join(root, 'config', 'bad.xml'), '<domain type="bhyve"><name>bad</name');
    writeFileSync(join(root, 'config', 'renamed.xml'), standInDomain('other', U2));
    writeFileSync(join(root, 'run', 'good.status.json'), '{garbage');
    const list = await drv.listDomains();
    expect(list.map((d) => d.ref.name)).toEqual(['good']);
    expect(list[0]!.state).toBe(S.VIR_DOMAIN_SHUTOFF);
    const msgs = problems.map((p) => `${p.path.slice(root.length)}: ${p.message}`);
    expect(msgs.some((m) => m.startsWith('/config/bad.xml: invalid domain XML'))).toBe(true);
    expect(msgs).toContain("/config/renamed.xml: file defines domain 'other', expected 'renamed'");
    expect(msgs.some((m) => m.startsWith('/run/good.status.json: invalid JSON'))).toBe(true);
    // Reported once per driver, not at every listing.
    const n = problems.length;
    await drv.listDomains();
    expect(problems.length).toBe(n);
  });

  it('without a translator, start is refused with VIR_ERR_NO_SUPPORT and nothing changes', async () => {
    const bare = await open({ translator: undefined });
    const ref = await bare.defineDomain(standInDomain('vm1', U1), 0);
    const e = await bare.startDomain(ref, 0).catch((x) => x);
    expect(code(e)).toBe(VIR_ERR_NO_SUPPORT);
    expect(e.message).toMatch(/needs the DomainDef → bhyve config translation/);
    expect(await bare.getDomainState(ref, 0)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: S.VIR_DOMAIN_SHUTOFF_UNKNOWN });
    await bare.close();
  });

  it('autostart: a link to the config; the domain starts once per host boot when a driver opens', async () => {
    const ref = await drv.defineDomain(standInDomain('auto', U1), 0);
    await drv.setDomainAutostart(ref, true);
    expect(await drv.getDomainAutostart(ref)).toBe(true);
    expect(existsSync(join(root, 'autostart', 'auto.xml'))).toBe(true);
    // This boot was already handled when the driver opened: reopening does not start it.
    const d2 = await open();
    expect(await d2.isDomainActive(ref)).toBe(false);
    await d2.close();
    // A new boot (the marker names another boot id): the next open starts it.
    writeFileSync(join(root, 'run', 'autostart.boot'), 'some-earlier-boot\n');
    const d3 = await open();
    expect(await d3.getDomainState(ref, 0)).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: S.VIR_DOMAIN_RUNNING_BOOTED });
    expect(readFileSync(join(root, 'run', 'autostart.boot'), 'utf8').trim()).not.toBe('some-earlier-boot');
    await d3.destroyDomain(ref, 0);
    await d3.setDomainAutostart(ref, false);
    expect(await d3.getDomainAutostart(ref)).toBe(false);
    await d3.close();
  });

  it('a driver opened later notices a VM that died while nothing supervised it', async () => {
    const ref = await drv.startDomain(await drv.defineDomain(standInDomain('vm1', U1), 0), 0);
    const st = (await drv.loadDomains())[0]!.status!;
    process.kill(st.supervisor!.pid, 'SIGKILL');
    process.kill(st.vm!.pid, 'SIGKILL');
    await waitFor('both gone', () => !identityAlive(st.supervisor) && !identityAlive(st.vm));
    const d2 = await open();
    expect(problems).toEqual([]);
    expect(await d2.getDomainState(ref, 0)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: S.VIR_DOMAIN_SHUTOFF_UNKNOWN });
    await d2.close();
  });

  it('a long-lived driver re-attaches a VM whose supervisor died, without being reopened', async () => {
    const d2 = await open({ reconcileEveryMs: 200 });
    try {
      const ref = await d2.startDomain(await d2.defineDomain(standInDomain('vm1', U1), 0), 0);
      const st = (await d2.loadDomains())[0]!.status!;
      process.kill(st.supervisor!.pid, 'SIGKILL');
      const adopted = await waitFor('adoption', async () => {
        const cur = (await d2.loadDomains())[0]!.status!;
        return cur.supervisor && cur.supervisor.pid !== st.supervisor!.pid && identityAlive(cur.supervisor) ? cur : undefined;
      });
      expect(adopted.vm).toEqual(st.vm);
      await d2.destroyDomain(ref, 0);
    } finally {
      await d2.close();
    }
  });

  it('matches its own URI only', async () => {
    expect(drv.matchUri(null)).toBe(drv.uri);
    expect(drv.matchUri(`bhyve:///embed?root=${root}`)).toBe(drv.uri);
    expect(drv.matchUri(`bhyve:///embed?root=${root}/other`)).toBeNull();
    expect(drv.matchUri('qemu:///system')).toBeNull();
    expect(drv.matchUri('bhyve:///system')).toBeNull();
  });

  it('answers host queries', async () => {
    expect(await drv.getVersion()).toBe(1000);
    expect((await drv.getNodeInfo()).cpus).toBeGreaterThan(0);
    const caps = await drv.getCapabilities();
    expect(caps).toMatch(/^<capabilities>\n\n {2}<host>\n {4}<uuid>[0-9a-f-]{36}<\/uuid>/);
    expect(caps).toContain("<domain type='bhyve'/>");
    expect(await drv.getSecurityModel()).toEqual({ model: '', doi: '' });
  });
});
