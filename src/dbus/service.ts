/**
 * The org.libvirt D-Bus API (libvirt-dbus's interfaces) served by tsvirtd over dbus-next,
 * on the session bus, the system bus or a bus address.
 *
 * What it does: owns the name `org.libvirt`; serves `org.libvirt.Connect` at the driver's
 * connect path and `org.libvirt.Domain` for every domain under `<connect>/domain/_<uuid>`
 * (a subtree, as libvirt-dbus does: any domain path resolves through the driver by UUID,
 * so objects never go stale); standard Introspectable/Properties for those paths; the
 * `DomainEvent` signal on the connect object for lifecycle events and `Reboot` on domain
 * objects. Failures are D-Bus errors named `org.libvirt.Error` carrying libvirt's message.
 * What it does not do: the non-lifecycle parts of libvirt-dbus (networks, storage,
 * snapshots, typed-parameter tuning); calls to them get UnknownMethod.
 *
 * Access: the bus policy decides who may call (as for libvirt-dbus); this service trusts
 * its callers like a read-write libvirt connection.
 */
import dbus from 'dbus-next';
import type { DomainEvent, DomainRef, DriverApi } from '../rpc/driver-api.js';
import { listFilter } from '../rpc/server/dispatch.js';
import { PROTOCOL_LIBVIRT_VERSION } from '../rpc/server/server.js';
import { parseUuid } from '../xml/uuid.js';
import { toVirError, virErr } from '../xml/errors.js';
import type { Logger } from '../rpc/log.js';
import { silentLogger } from '../rpc/log.js';
import {
  CONNECT_METHODS,
  CONNECT_PROPERTIES,
  DOMAIN_METHODS,
  DOMAIN_PROPERTIES,
  connectIntrospection,
  domainIntrospection,
  plainNode,
} from './introspection.js';
import { BUS_NAME, CONNECT_INTERFACE, DOMAIN_INTERFACE, ERROR_NAME, connectPathFor, domainPath, uuidFromDomainPath } from './paths.js';

const { Message, Variant, MessageType } = dbus;
type Msg = InstanceType<typeof Message>;
type Bus = ReturnType<typeof dbus.sessionBus>;

const PROPS = 'org.freedesktop.DBus.Properties';
const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';

/** virConnectGetAllDomainStats groups tsvirt reports (libvirt's VIR_DOMAIN_STATS_*). */
const STATS_STATE = 1;
const STATS_CPU_TOTAL = 2;
const STATS_BALLOON = 4;
const STATS_VCPU = 8;

export interface DbusServiceOptions {
  /** 'session', 'system', or a D-Bus address such as 'unix:path=/run/bus'. */
  address: string;
  driver: DriverApi;
  log?: Logger;
}

export interface DbusService {
  readonly connectPath: string;
  stop(): Promise<void>;
}

class DbusError extends Error {
  constructor(
    readonly dbusName: string,
    message: string,
  ) {
    super(message);
  }
}

interface Reply {
  signature: string;
  body: unknown[];
}

const none: Reply = { signature: '', body: [] };

function openBus(address: string): Bus {
  if (address === 'session') {
    const env = process.env.DBUS_SESSION_BUS_ADDRESS;
    if (!env) throw new Error('no session bus: DBUS_SESSION_BUS_ADDRESS is not set');
    return dbus.sessionBus({ busAddress: env });
  }
  if (address === 'system') return dbus.systemBus();
  return dbus.sessionBus({ busAddress: address });
}

export async function startDbusService(opts: DbusServiceOptions): Promise<DbusService> {
  const log = opts.log ?? silentLogger;
  const driver = opts.driver;
  const bus = openBus(opts.address);
  const connectPath = connectPathFor(driver.type);
  const domainRoot = `${connectPath}/domain`;

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => reject(new Error(`cannot connect to D-Bus at ${opts.address}: ${e.message}`));
    bus.once('error', onError);
    bus.once('connect', () => {
      bus.off('error', onError);
      resolve();
    });
  });
  bus.on('error', (e: Error) => log.log('warn', 'D-Bus connection error', { error: e.message }));

  const pathOf = (r: DomainRef) => domainPath(connectPath, r.uuid);

  async function domainAt(path: string): Promise<DomainRef> {
    const uuid = uuidFromDomainPath(connectPath, path);
    if (uuid === null) throw new DbusError('org.freedesktop.DBus.Error.UnknownObject', `No such object path '${path}'`);
    return driver.lookupDomainByUuid(uuid);
  }

  const connectMethods: Record<string, (args: unknown[]) => Promise<Reply>> = {
    ListDomains: async ([flags]) => {
      const doms = (await driver.listDomains()).filter(listFilter(flags as number));
      return { signature: 'ao', body: [doms.map((d) => pathOf(d.ref))] };
    },
    DomainDefineXML: async ([xml]) => ({ signature: 'o', body: [pathOf(await driver.defineDomain(xml as string, 0))] }),
    DomainCreateXML: async ([xml, flags]) => ({ signature: 'o', body: [pathOf(await driver.createDomain(xml as string, flags as number))] }),
    DomainLookupByName: async ([name]) => ({ signature: 'o', body: [pathOf(await driver.lookupDomainByName(name as string))] }),
    DomainLookupByUUID: async ([uuid]) => {
      const n = parseUuid(uuid as string);
      if (n === null) throw virErr('VIR_ERR_INVALID_ARG', 'VIR_FROM_NONE', `Invalid UUID '${uuid as string}'`);
      return { signature: 'o', body: [pathOf(await driver.lookupDomainByUuid(n))] };
    },
    DomainLookupByID: async ([id]) => ({ signature: 'o', body: [pathOf(await driver.lookupDomainById(id as number))] }),
    GetCapabilities: async () => ({ signature: 's', body: [await driver.getCapabilities()] }),
    GetDomainCapabilities: async ([emulatorbin, arch, machine, virttype, flags]) => {
      if (!driver.getDomainCapabilities) throw virErr('VIR_ERR_NO_SUPPORT', 'VIR_FROM_NONE', 'virConnectGetDomainCapabilities');
      const opt = (v: unknown) => ((v as string) === '' ? null : (v as string));
      const caps = await driver.getDomainCapabilities({
        emulatorbin: opt(emulatorbin), arch: opt(arch), machine: opt(machine), virttype: opt(virttype), flags: flags as number,
      });
      return { signature: 's', body: [caps] };
    },
  };

  Object.assign(connectMethods, {
    NodeGetFreeMemory: async () => {
      if (!driver.getFreeMemory) throw virErr('VIR_ERR_NO_SUPPORT', 'VIR_FROM_NONE', 'virNodeGetFreeMemory');
      return { signature: 't', body: [await driver.getFreeMemory()] };
    },
    NodeGetSecurityModel: async () => {
      if (!driver.getSecurityModel) throw virErr('VIR_ERR_NO_SUPPORT', 'VIR_FROM_NONE', 'virNodeGetSecurityModel');
      const m = await driver.getSecurityModel();
      return { signature: '(ss)', body: [[m.model, m.doi]] };
    },
  });

  const connectProps: Record<string, () => Promise<unknown>> = {
    Encrypted: async () => false,
    Hostname: () => driver.getHostname(),
    LibVersion: async () => BigInt(PROTOCOL_LIBVIRT_VERSION),
    Secure: async () => true,
    Version: async () => BigInt(await driver.getVersion()),
  };

  const domainMethods: Record<string, (dom: DomainRef, args: unknown[]) => Promise<Reply>> = {
    Create: async (d, [flags]) => (await driver.startDomain(d, flags as number), none),
    Destroy: async (d, [flags]) => (await driver.destroyDomain(d, flags as number), none),
    Shutdown: async (d, [flags]) => (await driver.shutdownDomain(d, flags as number), none),
    Reboot: async (d, [flags]) => (await driver.rebootDomain(d, flags as number), none),
    Reset: async (d, [flags]) => (await driver.resetDomain(d, flags as number), none),
    Suspend: async (d) => (await driver.suspendDomain(d), none),
    Resume: async (d) => (await driver.resumeDomain(d), none),
    Undefine: async (d, [flags]) => (await driver.undefineDomain(d, flags as number), none),
    GetXMLDesc: async (d, [flags]) => ({ signature: 's', body: [await driver.getDomainXml(d, flags as number)] }),
    GetState: async (d, [flags]) => {
      const s = await driver.getDomainState(d, flags as number);
      return { signature: '(ii)', body: [[s.state, s.reason]] };
    },
    GetVcpus: async (d, [flags]) => {
      if (!driver.getDomainVcpus) throw virErr('VIR_ERR_NO_SUPPORT', 'VIR_FROM_DOMAIN', 'virDomainGetVcpusFlags');
      return { signature: 'u', body: [await driver.getDomainVcpus(d, flags as number)] };
    },
    HasManagedSaveImage: async (d, [flags]) => {
      if (!driver.hasManagedSaveImage) throw virErr('VIR_ERR_NO_SUPPORT', 'VIR_FROM_DOMAIN', 'virDomainHasManagedSaveImage');
      return { signature: 'b', body: [await driver.hasManagedSaveImage(d, flags as number)] };
    },
    GetMetadata: async (d, [type, uri, flags]) => {
      if (!driver.getDomainMetadata) throw virErr('VIR_ERR_NO_SUPPORT', 'VIR_FROM_DOMAIN', 'virDomainGetMetadata');
      const u = (uri as string) === '' ? null : (uri as string);
      return { signature: 's', body: [await driver.getDomainMetadata(d, type as number, u, flags as number)] };
    },
    GetStats: async (d, [stats]) => {
      const groups = (stats as number) === 0 ? STATS_STATE | STATS_CPU_TOTAL | STATS_BALLOON | STATS_VCPU : (stats as number);
      const out: Record<string, InstanceType<typeof Variant>> = {};
      if (groups & STATS_STATE) {
        const s = await driver.getDomainState(d, 0);
        out['state.state'] = new Variant('i', s.state);
        out['state.reason'] = new Variant('i', s.reason);
      }
      if (groups & (STATS_CPU_TOTAL | STATS_BALLOON | STATS_VCPU)) {
        const info = await driver.getDomainInfo(d);
        if (groups & STATS_CPU_TOTAL) out['cpu.time'] = new Variant('t', info.cpuTimeNs);
        if (groups & STATS_BALLOON) {
          out['balloon.current'] = new Variant('t', info.memoryKiB);
          out['balloon.maximum'] = new Variant('t', info.maxMemKiB);
        }
        if (groups & STATS_VCPU) {
          out['vcpu.current'] = new Variant('u', info.nrVirtCpu);
          out['vcpu.maximum'] = new Variant('u', info.nrVirtCpu);
        }
      }
      return { signature: 'a{sv}', body: [out] };
    },
  };

  const domainProps: Record<string, (d: DomainRef) => Promise<unknown>> = {
    Active: (d) => driver.isDomainActive(d),
    Autostart: (d) => driver.getDomainAutostart(d),
    Id: async (d) => (d.id < 0 ? 0 : d.id),
    Name: async (d) => d.name,
    OSType: (d) => driver.getDomainOsType(d),
    Persistent: (d) => driver.isDomainPersistent(d),
    Updated: async (d) => (driver.isDomainUpdated ? driver.isDomainUpdated(d) : false),
    UUID: async (d) => d.uuid,
  };

  async function propertyValue(path: string, iface: string, name: string): Promise<InstanceType<typeof Variant>> {
    if (path === connectPath && iface === CONNECT_INTERFACE && name in connectProps) {
      return new Variant(CONNECT_PROPERTIES[name] as string, await (connectProps[name] as () => Promise<unknown>)());
    }
    if (iface === DOMAIN_INTERFACE && name in domainProps) {
      const d = await domainAt(path);
      return new Variant((DOMAIN_PROPERTIES[name] as { type: string }).type, await (domainProps[name] as (d: DomainRef) => Promise<unknown>)(d));
    }
    throw new DbusError('org.freedesktop.DBus.Error.UnknownProperty', `No such property '${name}' on interface '${iface}'`);
  }

  async function handle(msg: Msg): Promise<Reply> {
    const path = msg.path;
    const iface = msg.interface ?? '';
    const member = msg.member ?? '';
    const args = (msg.body ?? []) as unknown[];
    const checkSig = (expected: string) => {
      if ((msg.signature ?? '') !== expected) {
        throw new DbusError('org.freedesktop.DBus.Error.InvalidArgs', `Type of message, '(${msg.signature ?? ''})', does not match expected type '(${expected})'`);
      }
    };

    if (iface === INTROSPECTABLE && member === 'Introspect') {
      if (path === connectPath) return { signature: 's', body: [connectIntrospection(['domain'])] };
      if (path === domainRoot) {
        const doms = await driver.listDomains();
        return { signature: 's', body: [plainNode(doms.map((d) => pathOf(d.ref).slice(domainRoot.length + 1)))] };
      }
      if (uuidFromDomainPath(connectPath, path) !== null) {
        await domainAt(path);
        return { signature: 's', body: [domainIntrospection()] };
      }
      // an ancestor of the connect path
      const rest = connectPath.slice(path === '/' ? 1 : path.length + 1);
      return { signature: 's', body: [plainNode([rest.split('/')[0] as string])] };
    }

    if (iface === PROPS) {
      if (member === 'Get') {
        checkSig('ss');
        return { signature: 'v', body: [await propertyValue(path, args[0] as string, args[1] as string)] };
      }
      if (member === 'GetAll') {
        checkSig('s');
        const names = args[0] === CONNECT_INTERFACE && path === connectPath ? Object.keys(connectProps) : args[0] === DOMAIN_INTERFACE ? Object.keys(domainProps) : [];
        const all: Record<string, InstanceType<typeof Variant>> = {};
        for (const n of names) all[n] = await propertyValue(path, args[0] as string, n);
        return { signature: 'a{sv}', body: [all] };
      }
      if (member === 'Set') {
        checkSig('ssv');
        if (args[0] === DOMAIN_INTERFACE && args[1] === 'Autostart') {
          const v = args[2] as InstanceType<typeof Variant>;
          if (v.signature !== 'b') throw new DbusError('org.freedesktop.DBus.Error.InvalidArgs', "Autostart takes a boolean ('b')");
          await driver.setDomainAutostart(await domainAt(path), v.value as boolean);
          return none;
        }
        throw new DbusError('org.freedesktop.DBus.Error.PropertyReadOnly', `Property '${args[1] as string}' is not writable`);
      }
    }

    if (path === connectPath && (iface === CONNECT_INTERFACE || iface === '') && member in CONNECT_METHODS) {
      checkSig((CONNECT_METHODS[member] as { in: string }).in);
      return (connectMethods[member] as (a: unknown[]) => Promise<Reply>)(args);
    }
    if ((iface === DOMAIN_INTERFACE || iface === '') && member in DOMAIN_METHODS && uuidFromDomainPath(connectPath, path) !== null) {
      checkSig((DOMAIN_METHODS[member] as { in: string }).in);
      const d = await domainAt(path);
      return (domainMethods[member] as (d: DomainRef, a: unknown[]) => Promise<Reply>)(d, args);
    }
    throw new DbusError('org.freedesktop.DBus.Error.UnknownMethod', `Unknown method '${member}' or interface '${iface}' at '${path}'`);
  }

  const ours = (path: string) => path === '/' || path === '/org' || path === '/org/libvirt' || path === connectPath || path.startsWith(`${connectPath}/`);

  const handler = (msg: Msg): boolean => {
    if (msg.type !== MessageType.METHOD_CALL || !ours(msg.path) || msg.interface === 'org.freedesktop.DBus.Peer') return false;
    handle(msg).then(
      (r) => bus.send(Message.newMethodReturn(msg, r.signature, r.body)),
      (e: unknown) => {
        let name = ERROR_NAME;
        let text: string;
        if (e instanceof DbusError) {
          name = e.dbusName;
          text = e.message;
        } else {
          const f = toVirError(e);
          text = f.message;
          if (f.code === 1) log.log('error', 'D-Bus call failed unexpectedly', { member: msg.member, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        }
        bus.send((Message.newError as unknown as (m: Msg, n: string, t: string) => Msg)(msg, name, text));
      },
    );
    return true;
  };
  bus.addMethodHandler(handler);

  const unsubscribe = driver.subscribe((e: DomainEvent) => {
    try {
      if (e.kind === 'lifecycle') {
        bus.send(Message.newSignal(connectPath, CONNECT_INTERFACE, 'DomainEvent', 'oii', [pathOf(e.dom), e.event, e.detail]));
      } else {
        bus.send(Message.newSignal(pathOf(e.dom), DOMAIN_INTERFACE, 'Reboot', '', []));
      }
    } catch (err) {
      log.log('warn', 'cannot emit D-Bus signal', { error: (err as Error).message });
    }
  });

  const DBUS_NAME_FLAG_DO_NOT_QUEUE = 4;
  const PRIMARY_OWNER = 1;
  // A refused name (taken, or denied by the bus policy) must leave nothing behind that
  // keeps the daemon's process alive: no bus connection, no event subscription.
  let got: number;
  try {
    got = await bus.requestName(BUS_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE);
  } catch (e) {
    unsubscribe();
    bus.disconnect();
    throw new Error(`cannot own the name ${BUS_NAME} on ${opts.address}: ${(e as Error).message}`);
  }
  if (got !== PRIMARY_OWNER) {
    unsubscribe();
    bus.disconnect();
    throw new Error(`the name ${BUS_NAME} is already owned on ${opts.address}`);
  }
  log.log('info', 'serving org.libvirt on D-Bus', { address: opts.address, path: connectPath, unique: (bus as unknown as { name: string | null }).name });

  return {
    connectPath,
    async stop() {
      unsubscribe();
      bus.removeMethodHandler(handler);
      // The bus may be gone already (dbus-daemon stopped): a call on it would never be
      // answered, so releasing the name gets a short bound; disconnecting releases it anyway.
      await Promise.race([bus.releaseName(BUS_NAME).catch(() => 0), new Promise((r) => setTimeout(r, 500).unref())]);
      bus.disconnect();
    },
  };
}
