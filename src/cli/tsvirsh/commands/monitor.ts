/**
 * Domain monitoring commands, output as virsh 9.0 prints it (tools/virsh-domain-monitor.c):
 * list, dominfo, domstate, domid, domname, domuuid. `--json` (a tsvirsh extension) prints
 * the same facts as one JSON document for scripts, where virsh has no machine format.
 */

import { domainOpt, JSON_OPT, type CommandDef } from '../cmd-def.js';
import type { Ctl } from '../ctl.js';
import type { Conn, DomainSummary } from '../conn.js';
import { BY_ID, BY_NAME, BY_UUID, lookupDomain } from '../lookup.js';
import { reasonName, stateKey, stateName } from '../names.js';
import { formatTable } from '../table.js';

const SHUTOFF = 5;
const RUNNING = 1;
const PAUSED = 3;

function json(ctl: Ctl, v: unknown): void {
  ctl.print(`${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x), 2)}\n`);
}

/** virsh's list order: active domains by id, then inactive ones by name (case-insensitive). */
function sortDomains(list: DomainSummary[]): DomainSummary[] {
  return [...list].sort((a, b) => {
    const ia = a.ref.id;
    const ib = b.ref.id;
    if (ia === -1 && ib === -1) return a.ref.name.toLowerCase() < b.ref.name.toLowerCase() ? -1 : a.ref.name.toLowerCase() > b.ref.name.toLowerCase() ? 1 : 0;
    if (ia !== -1 && ib !== -1) return ia - ib;
    return ia !== -1 ? -1 : 1;
  });
}

const LIST_FILTERS: Array<[string, string]> = [
  ['inactive', 'list inactive domains'],
  ['all', 'list inactive & active domains'],
  ['transient', 'list transient domains'],
  ['persistent', 'list persistent domains'],
  ['with-snapshot', 'list domains with existing snapshot'],
  ['without-snapshot', 'list domains without a snapshot'],
  ['with-checkpoint', 'list domains with existing checkpoint'],
  ['without-checkpoint', 'list domains without a checkpoint'],
  ['state-running', 'list domains in running state'],
  ['state-paused', 'list domains in paused state'],
  ['state-shutoff', 'list domains in shutoff state'],
  ['state-other', 'list domains in other states'],
  ['autostart', 'list domains with autostart enabled'],
  ['no-autostart', 'list domains with autostart disabled'],
  ['with-managed-save', 'list domains with managed save state'],
  ['without-managed-save', 'list domains without managed save'],
  ['uuid', "list uuid's only"],
  ['name', 'list domain names only'],
  ['id', 'list domain IDs only'],
  ['table', 'list table (default)'],
  ['managed-save', 'mark inactive domains with managed save state'],
  ['title', 'show domain title'],
];

const list: CommandDef = {
  name: 'list',
  group: 'monitor',
  help: 'list domains',
  desc: 'Returns list of domains.',
  opts: [...LIST_FILTERS.map(([name, help]) => ({ name, kind: 'bool' as const, help })), JSON_OPT],
  async run(ctl, o) {
    for (const [a, b] of [['table', 'name'], ['table', 'uuid'], ['table', 'id']] as const) {
      if (o.bool(a) && o.bool(b)) {
        ctl.error(`Options --${a} and --${b} are mutually exclusive`);
        return false;
      }
    }
    const conn = await ctl.getConn();
    let domains: DomainSummary[];
    try {
      domains = await conn.listDomains();
    } catch (e) {
      ctl.error('Failed to list domains');
      ctl.report(e);
      return false;
    }
    let active = true;
    let inactive = false;
    if (o.bool('inactive') || o.bool('state-shutoff')) {
      active = false;
      inactive = true;
    }
    if (o.bool('all')) active = inactive = true;
    const pair = (yes: string, no: string, test: (d: DomainSummary) => boolean) => (d: DomainSummary) =>
      (!o.bool(yes) && !o.bool(no)) || (o.bool(yes) && test(d)) || (o.bool(no) && !test(d));
    const stateFilter = ['state-running', 'state-paused', 'state-shutoff', 'state-other'].some((k) => o.bool(k));
    domains = domains.filter(
      (d) =>
        ((active && d.ref.id !== -1) || (inactive && d.ref.id === -1)) &&
        pair('persistent', 'transient', (x) => x.persistent)(d) &&
        pair('autostart', 'no-autostart', (x) => x.autostart)(d) &&
        pair('with-managed-save', 'without-managed-save', (x) => x.hasManagedSave)(d) &&
        pair('with-snapshot', 'without-snapshot', (x) => x.hasSnapshot)(d) &&
        pair('with-checkpoint', 'without-checkpoint', () => false)(d) &&
        (!stateFilter ||
          (o.bool('state-running') && d.state === RUNNING) ||
          (o.bool('state-paused') && d.state === PAUSED) ||
          (o.bool('state-shutoff') && d.state === SHUTOFF) ||
          (o.bool('state-other') && d.state !== RUNNING && d.state !== PAUSED && d.state !== SHUTOFF)),
    );
    domains = sortDomains(domains);
    const optUuid = o.bool('uuid');
    const optName = o.bool('name');
    const optId = o.bool('id');
    const table = !optUuid && !optName && !optId;
    if (o.bool('json')) {
      json(
        ctl,
        domains.map((d) => ({ id: d.ref.id === -1 ? null : d.ref.id, name: d.ref.name, uuid: d.ref.uuid, state: stateKey(d.state), persistent: d.persistent, autostart: d.autostart })),
      );
      return true;
    }
    if (table) {
      const header = o.bool('title') ? ['Id', 'Name', 'State', 'Title'] : ['Id', 'Name', 'State'];
      const rows: string[][] = [];
      for (const d of domains) {
        const row = [d.ref.id === -1 ? '-' : String(d.ref.id), d.ref.name, o.bool('managed-save') && d.state === SHUTOFF && d.hasManagedSave ? 'saved' : stateName(d.state)];
        if (o.bool('title')) row.push(await title(conn, d));
        rows.push(row);
      }
      ctl.print(formatTable(header, rows, !ctl.quiet));
      return true;
    }
    for (const d of domains) {
      const parts: string[] = [];
      if (optUuid) parts.push(d.ref.uuid);
      if (optId) {
        if (d.ref.id === -1 && !optUuid && !optName) continue;
        parts.push(d.ref.id === -1 ? '-' : String(d.ref.id));
      }
      if (optName) parts.push(d.ref.name);
      ctl.print(`${parts.join(' ')}\n`);
    }
    return true;
  },
};

/** The domain's <title>, first line only (virshGetDomainDescription with title=true). */
async function title(conn: Conn, d: DomainSummary): Promise<string> {
  try {
    const xml = await conn.getDomainXml(d.ref, 0);
    const m = /<title>([\s\S]*?)<\/title>/.exec(xml);
    if (!m) return '';
    return m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&').split('\n')[0]!;
  } catch {
    return '';
  }
}

const dominfo: CommandDef = {
  name: 'dominfo',
  group: 'monitor',
  help: 'domain information',
  desc: 'Returns basic information about the domain.',
  opts: [domainOpt(), JSON_OPT],
  async run(ctl, o) {
    const conn = await ctl.getConn();
    const dom = await lookupDomain(ctl, conn, o.str('domain')!);
    if (!dom) return false;
    const line = (k: string, v: string) => ctl.print(`${k.padEnd(15)} ${v}\n`);
    let ok = true;
    try {
      const info = await conn.getDomainInfo(dom);
      const ostype = await conn.getDomainOsType(dom);
      const persistent = await conn.isDomainPersistent(dom).then((p) => (p ? 'yes' : 'no'), () => 'unknown');
      const autostart = await conn.getDomainAutostart(dom).then((a) => (a ? 'enable' : 'disable'), () => undefined);
      const managed = conn.hasManagedSaveImage ? await conn.hasManagedSaveImage(dom, 0).then((m) => (m ? 'yes' : 'no'), () => 'unknown') : 'no';
      const sec = conn.getSecurityModel ? await conn.getSecurityModel() : { model: '', doi: '' };
      const messages = conn.getDomainMessages ? await conn.getDomainMessages(dom, 0).catch(() => []) : [];
      if (o.bool('json')) {
        const st = await conn.getDomainState(dom, 0);
        json(ctl, {
          id: dom.id === -1 ? null : dom.id,
          name: dom.name,
          uuid: dom.uuid,
          osType: ostype,
          state: stateKey(info.state),
          reason: reasonName(st.state, st.reason),
          cpus: info.nrVirtCpu,
          cpuTimeNs: info.cpuTimeNs,
          maxMemoryKiB: info.maxMemKiB,
          usedMemoryKiB: info.memoryKiB,
          persistent: persistent === 'yes',
          autostart: autostart === 'enable',
          managedSave: managed === 'yes',
          messages,
        });
        return true;
      }
      line('Id:', dom.id === -1 ? '-' : String(dom.id));
      line('Name:', dom.name);
      line('UUID:', dom.uuid);
      line('OS Type:', ostype);
      line('State:', stateName(info.state));
      line('CPU(s):', String(info.nrVirtCpu));
      if (info.cpuTimeNs !== 0n) line('CPU time:', `${(Number(info.cpuTimeNs) / 1e9).toFixed(1)}s`);
      line('Max memory:', `${info.maxMemKiB} KiB`);
      line('Used memory:', `${info.memoryKiB} KiB`);
      line('Persistent:', persistent);
      if (autostart !== undefined) line('Autostart:', autostart);
      line('Managed save:', managed);
      if (sec.model !== '') {
        line('Security model:', sec.model);
        line('Security DOI:', sec.doi);
      }
      messages.forEach((m, i) => line(i === 0 ? 'Messages:' : '', m));
    } catch (e) {
      ctl.report(e);
      ok = false;
    }
    return ok;
  },
};

const domstate: CommandDef = {
  name: 'domstate',
  group: 'monitor',
  help: 'domain state',
  desc: 'Returns state about a domain.',
  opts: [domainOpt(), { name: 'reason', kind: 'bool', help: 'also print reason for the state' }, JSON_OPT],
  async run(ctl, o) {
    const conn = await ctl.getConn();
    const dom = await lookupDomain(ctl, conn, o.str('domain')!);
    if (!dom) return false;
    try {
      const { state, reason } = await conn.getDomainState(dom, 0);
      if (o.bool('json')) json(ctl, { state: stateKey(state), reason: reasonName(state, reason), stateCode: state, reasonCode: reason });
      else if (o.bool('reason')) ctl.print(`${stateName(state)} (${reasonName(state, reason)})\n`);
      else ctl.print(`${stateName(state)}\n`);
      return true;
    } catch (e) {
      ctl.report(e);
      return false;
    }
  },
};

const domid: CommandDef = {
  name: 'domid',
  group: 'domain',
  help: 'convert a domain name or UUID to domain id',
  opts: [domainOpt('domain name or uuid')],
  async run(ctl, o) {
    const dom = await lookupDomain(ctl, await ctl.getConn(), o.str('domain')!, BY_NAME | BY_UUID);
    if (!dom) return false;
    ctl.print(dom.id === -1 ? '-\n' : `${dom.id}\n`);
    return true;
  },
};

const domname: CommandDef = {
  name: 'domname',
  group: 'domain',
  help: 'convert a domain id or UUID to domain name',
  opts: [domainOpt('domain id or uuid')],
  async run(ctl, o) {
    const dom = await lookupDomain(ctl, await ctl.getConn(), o.str('domain')!, BY_ID | BY_UUID);
    if (!dom) return false;
    ctl.print(`${dom.name}\n`);
    return true;
  },
};

const domuuid: CommandDef = {
  name: 'domuuid',
  group: 'domain',
  help: 'convert a domain name or id to domain UUID',
  opts: [domainOpt('domain id or name')],
  async run(ctl, o) {
    const dom = await lookupDomain(ctl, await ctl.getConn(), o.str('domain')!, BY_ID | BY_NAME);
    if (!dom) return false;
    ctl.print(`${dom.uuid}\n`);
    return true;
  },
};

export const monitorCommands: CommandDef[] = [list, dominfo, domstate, domid, domname, domuuid];
