/**
 * The list of domains under one state root, read from the store: every persistent config
 * and every status record, joined by name into DomainObj snapshots, with lookups by name,
 * uuid and id, and the libvirt list filters (virConnectListAllDomains flags).
 *
 * Robustness: a config or status file that cannot be read, parsed or reconciled (corrupt
 * JSON, invalid XML, a file whose domain name disagrees with its file name, a uuid claimed
 * twice) is reported through `problems` and skipped — listing never fails because of one
 * bad file. Parsed definitions are cached by file identity (inode, size, mtime), so
 * listing a root repeatedly does not re-parse unchanged XML.
 * What it does not: lock or write (driver.ts and runner.ts do, under the domain lock).
 */

import { promises as fsp } from 'node:fs';
import type { DomainDef } from '../xml/types.js';
import { VirError, VIR_ERR_NO_DOMAIN, VIR_FROM_BHYVE } from '../xml/errors.js';
import { DomainObj } from './domain-obj.js';
import { isActiveState, VIR_DOMAIN_PAUSED, VIR_DOMAIN_RUNNING, VIR_DOMAIN_SHUTOFF } from './domain-state.js';
import type { DomainStatus, StateStore } from './store.js';

/** virConnectListAllDomainsFlags. */
export const VIR_CONNECT_LIST_DOMAINS_ACTIVE = 1;
export const VIR_CONNECT_LIST_DOMAINS_INACTIVE = 2;
export const VIR_CONNECT_LIST_DOMAINS_PERSISTENT = 4;
export const VIR_CONNECT_LIST_DOMAINS_TRANSIENT = 8;
export const VIR_CONNECT_LIST_DOMAINS_RUNNING = 16;
export const VIR_CONNECT_LIST_DOMAINS_PAUSED = 32;
export const VIR_CONNECT_LIST_DOMAINS_SHUTOFF = 64;
export const VIR_CONNECT_LIST_DOMAINS_OTHER = 128;
export const VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE = 256;
export const VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE = 512;
export const VIR_CONNECT_LIST_DOMAINS_AUTOSTART = 1024;
export const VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART = 2048;
export const VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT = 4096;
export const VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT = 8192;
export const VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT = 16384;
export const VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT = 32768;

/** A file that was skipped, and why. */
export interface LoadProblem {
  path: string;
  message: string;
}

/** Parses persistent (inactive) and live XML; supplied by the driver (parser hooks). */
export interface DefParser {
  parseConfig(xml: string): DomainDef;
  parseLive(xml: string): DomainDef;
}

interface CacheEntry {
  key: string;
  def: DomainDef;
}

export class DomainList {
  private readonly configCache = new Map<string, CacheEntry>();
  private readonly liveCache = new Map<string, { xml: string; def: DomainDef }>();

  constructor(
    private readonly store: StateStore,
    private readonly parser: DefParser,
  ) {}

  /** Read every domain. */
  async load(): Promise<{ domains: DomainObj[]; problems: LoadProblem[] }> {
    const problems: LoadProblem[] = [];
    const [configNames, statusNames, autostartNames] = await Promise.all([
      this.store.listConfigNames(),
      this.store.listStatusNames(),
      this.store.listAutostartNames(),
    ]);
    const names = new Set([...configNames, ...statusNames]);
    const auto = new Set(autostartNames);
    const out: DomainObj[] = [];
    const byUuid = new Map<string, string>();
    for (const name of [...names].sort()) {
      const obj = await this.loadOne(name, configNames.includes(name), statusNames.includes(name), auto.has(name), problems);
      if (!obj) continue;
      const other = byUuid.get(obj.uuid);
      if (other !== undefined) {
        problems.push({ path: this.store.configPath(name), message: `domain '${name}' has the same uuid ${obj.uuid} as domain '${other}'; skipped` });
        continue;
      }
      byUuid.set(obj.uuid, name);
      out.push(obj);
    }
    for (const n of this.configCache.keys()) if (!names.has(n)) this.configCache.delete(n);
    for (const n of this.liveCache.keys()) if (!names.has(n)) this.liveCache.delete(n);
    return { domains: out, problems };
  }

  /** Read one domain by name; undefined when it does not exist (or cannot be read). */
  async get(name: string, problems: LoadProblem[] = []): Promise<DomainObj | undefined> {
    return this.loadOne(name, true, true, await this.store.isAutostart(name), problems);
  }

  private async loadOne(name: string, hasConfig: boolean, hasStatus: boolean, autostart: boolean, problems: LoadProblem[]): Promise<DomainObj | undefined> {
    let def: DomainDef | undefined;
    if (hasConfig) {
      const r = await this.readConfig(name);
      if (typeof r === 'string') {
        if (r !== 'missing') problems.push({ path: this.store.configPath(name), message: r });
      } else {
        def = r;
      }
    }
    let status: DomainStatus | undefined;
    if (hasStatus) {
      const r = await this.store.readStatus(name);
      if (r.kind === 'ok') status = r.status;
      else if (r.kind === 'corrupt') problems.push({ path: r.path, message: r.error });
    }
    if (status && def && status.uuid !== def.uuid) {
      problems.push({ path: this.store.statusPath(name), message: `status record of '${name}' is for uuid ${status.uuid}, the definition has ${def.uuid}; ignored` });
      status = undefined;
    }
    // A domain exists if it is defined, or if it is active/transient according to its status.
    const statusMatters = status && (isActiveState(status.state) || def !== undefined);
    if (!def && !statusMatters) return undefined;
    const uuid = def?.uuid ?? status!.uuid;
    let liveDef: DomainDef | undefined;
    if (status && isActiveState(status.state) && status.liveXml) {
      const cached = this.liveCache.get(name);
      if (cached && cached.xml === status.liveXml) liveDef = cached.def;
      else {
        try {
          liveDef = this.parser.parseLive(status.liveXml);
          this.liveCache.set(name, { xml: status.liveXml, def: liveDef });
        } catch (err) {
          problems.push({ path: this.store.statusPath(name), message: `live XML of '${name}' is invalid: ${(err as Error).message}` });
        }
      }
    }
    if (!def && !liveDef) return undefined; // active transient domain whose live XML is unreadable
    return new DomainObj(name, uuid, def, statusMatters ? status : undefined, autostart && def !== undefined, liveDef);
  }

  private async readConfig(name: string): Promise<DomainDef | string> {
    const path = this.store.configPath(name);
    let key: string;
    try {
      const st = await fsp.stat(path);
      key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return 'missing';
    }
    const c = this.configCache.get(name);
    if (c && c.key === key) return c.def;
    const r = await this.store.readConfig(name);
    if (r.kind === 'missing') return 'missing';
    if (r.kind === 'corrupt') return r.error;
    let def: DomainDef;
    try {
      def = this.parser.parseConfig(r.xml);
    } catch (err) {
      return `invalid domain XML: ${(err as Error).message}`;
    }
    if (def.name !== name) return `file defines domain '${def.name}', expected '${name}'`;
    this.configCache.set(name, { key, def });
    return def;
  }

  async byName(name: string): Promise<DomainObj> {
    const obj = await this.get(name);
    if (!obj) throw noDomain(`no domain with matching name '${name}'`);
    return obj;
  }

  async byUuid(uuid: string, name?: string): Promise<DomainObj> {
    const u = uuid.toLowerCase();
    if (name !== undefined) {
      const obj = await this.get(name);
      if (obj && obj.uuid === u) return obj;
    }
    const { domains } = await this.load();
    const obj = domains.find((d) => d.uuid === u);
    if (!obj) throw noDomain(`no domain with matching uuid '${u}'${name !== undefined ? ` (${name})` : ''}`);
    return obj;
  }

  async byId(id: number): Promise<DomainObj> {
    const { domains } = await this.load();
    const obj = domains.find((d) => d.active && d.id === id);
    if (!obj) throw noDomain(`no domain with matching id ${id}`);
    return obj;
  }
}

export function noDomain(detail: string): VirError {
  return new VirError(VIR_ERR_NO_DOMAIN, VIR_FROM_BHYVE, `Domain not found: ${detail}`);
}

/** virConnectListAllDomains filtering, as libvirt's virDomainObjListFilter does it. */
export function filterDomains(domains: DomainObj[], flags: number): DomainObj[] {
  const pick = (a: number, b: number, ok: (d: DomainObj) => boolean, notOk: (d: DomainObj) => boolean) => (d: DomainObj) => {
    const wantA = (flags & a) !== 0;
    const wantB = (flags & b) !== 0;
    if (!wantA && !wantB) return true;
    return (wantA && ok(d)) || (wantB && notOk(d));
  };
  const filters = [
    pick(VIR_CONNECT_LIST_DOMAINS_ACTIVE, VIR_CONNECT_LIST_DOMAINS_INACTIVE, (d) => d.active, (d) => !d.active),
    pick(VIR_CONNECT_LIST_DOMAINS_PERSISTENT, VIR_CONNECT_LIST_DOMAINS_TRANSIENT, (d) => d.persistent, (d) => !d.persistent),
    pick(VIR_CONNECT_LIST_DOMAINS_AUTOSTART, VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART, (d) => d.autostart, (d) => !d.autostart),
    pick(VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE, VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE, () => false, () => true),
    pick(VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT, VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT, () => false, () => true),
    pick(VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT, VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT, () => false, () => true),
  ];
  const stateMask = VIR_CONNECT_LIST_DOMAINS_RUNNING | VIR_CONNECT_LIST_DOMAINS_PAUSED | VIR_CONNECT_LIST_DOMAINS_SHUTOFF | VIR_CONNECT_LIST_DOMAINS_OTHER;
  return domains.filter((d) => {
    if (!filters.every((f) => f(d))) return false;
    if (flags & stateMask) {
      const s = d.state;
      const ok =
        ((flags & VIR_CONNECT_LIST_DOMAINS_RUNNING) !== 0 && s === VIR_DOMAIN_RUNNING) ||
        ((flags & VIR_CONNECT_LIST_DOMAINS_PAUSED) !== 0 && s === VIR_DOMAIN_PAUSED) ||
        ((flags & VIR_CONNECT_LIST_DOMAINS_SHUTOFF) !== 0 && s === VIR_DOMAIN_SHUTOFF) ||
        ((flags & VIR_CONNECT_LIST_DOMAINS_OTHER) !== 0 && s !== VIR_DOMAIN_RUNNING && s !== VIR_DOMAIN_PAUSED && s !== VIR_DOMAIN_SHUTOFF);
      if (!ok) return false;
    }
    return true;
  });
}
