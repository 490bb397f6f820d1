/**
 * Host and hypervisor commands as virsh 9.0 prints them (tools/virsh-host.c): capabilities,
 * domcapabilities, version, uri, hostname, nodeinfo.
 */

import { JSON_OPT, type CommandDef } from '../cmd-def.js';
import type { Ctl } from '../ctl.js';

export const TSVIRT_VERSION = '0.1.0';

function versionText(n: number): string {
  return `${Math.floor(n / 1_000_000)}.${Math.floor((n % 1_000_000) / 1000)}.${n % 1000}`;
}

async function guarded(ctl: Ctl, fn: () => Promise<void>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (e) {
    ctl.report(e);
    return false;
  }
}

const capabilities: CommandDef = {
  name: 'capabilities',
  group: 'host',
  help: 'capabilities',
  desc: 'Returns capabilities of hypervisor/driver.',
  opts: [],
  run: (ctl) =>
    guarded(ctl, async () => {
      ctl.print(await (await ctl.getConn()).getCapabilities());
    }),
};

const domcapabilities: CommandDef = {
  name: 'domcapabilities',
  group: 'host',
  help: 'domain capabilities',
  desc: 'Returns capabilities of emulator with respect to host and libvirt.',
  opts: [
    { name: 'virttype', kind: 'string', help: 'virtualization type (/domain/@type)' },
    { name: 'emulatorbin', kind: 'string', help: 'path to emulator binary (/domain/devices/emulator)' },
    { name: 'arch', kind: 'string', help: 'domain architecture (/domain/os/type/@arch)' },
    { name: 'machine', kind: 'string', help: 'machine type (/domain/os/type/@machine)' },
  ],
  run: (ctl, o) =>
    guarded(ctl, async () => {
      const conn = await ctl.getConn();
      if (!conn.getDomainCapabilities) throw Object.assign(new Error('this function is not supported by the connection driver: virConnectGetDomainCapabilities'), { code: 3 });
      ctl.print(
        await conn.getDomainCapabilities({
          virttype: o.str('virttype') ?? null,
          emulatorbin: o.str('emulatorbin') ?? null,
          arch: o.str('arch') ?? null,
          machine: o.str('machine') ?? null,
          flags: 0,
        }),
      );
    }),
};

const version: CommandDef = {
  name: 'version',
  group: 'host',
  help: 'show version',
  desc: 'Display the system version information.',
  opts: [{ name: 'daemon', kind: 'bool', help: 'report daemon version too' }, JSON_OPT],
  run: (ctl, o) =>
    guarded(ctl, async () => {
      const conn = await ctl.getConn();
      const hv = versionText(await conn.getVersion());
      if (o.bool('daemon')) throw Object.assign(new Error(`this function is not supported by the connection driver: virConnectGetLibVersion (${conn.uri} runs without a daemon)`), { code: 3 });
      if (o.bool('json')) {
        ctl.print(`${JSON.stringify({ library: TSVIRT_VERSION, api: { type: conn.type, version: TSVIRT_VERSION }, hypervisor: { type: conn.type, version: hv } }, null, 2)}\n`);
        return;
      }
      ctl.print(`Compiled against library: tsvirt ${TSVIRT_VERSION}\n`);
      ctl.print(`Using library: tsvirt ${TSVIRT_VERSION}\n`);
      ctl.print(`Using API: ${conn.type} ${TSVIRT_VERSION}\n`);
      ctl.print(`Running hypervisor: ${conn.type} ${hv}\n`);
    }),
};

const uri: CommandDef = {
  name: 'uri',
  group: 'host',
  help: 'print the hypervisor canonical URI',
  opts: [],
  run: (ctl) =>
    guarded(ctl, async () => {
      ctl.print(`${(await ctl.getConn()).uri}\n`);
    }),
};

const hostname: CommandDef = {
  name: 'hostname',
  group: 'host',
  help: 'print the hypervisor hostname',
  opts: [],
  run: (ctl) =>
    guarded(ctl, async () => {
      ctl.print(`${await (await ctl.getConn()).getHostname()}\n`);
    }),
};

const nodeinfo: CommandDef = {
  name: 'nodeinfo',
  group: 'host',
  help: 'node information',
  desc: 'Returns basic information about the node.',
  opts: [JSON_OPT],
  run: (ctl, o) =>
    guarded(ctl, async () => {
      const n = await (await ctl.getConn()).getNodeInfo();
      if (o.bool('json')) {
        ctl.print(`${JSON.stringify({ ...n, memoryKiB: Number(n.memoryKiB) }, null, 2)}\n`);
        return;
      }
      const line = (k: string, v: string) => ctl.print(`${k.padEnd(20)} ${v}\n`);
      line('CPU model:', n.model);
      line('CPU(s):', String(n.cpus));
      line('CPU frequency:', `${n.mhz} MHz`);
      line('CPU socket(s):', String(n.sockets));
      line('Core(s) per socket:', String(n.cores));
      line('Thread(s) per core:', String(n.threads));
      line('NUMA cell(s):', String(n.nodes));
      line('Memory size:', `${n.memoryKiB} KiB`);
    }),
};

export const hostCommands: CommandDef[] = [capabilities, domcapabilities, version, uri, hostname, nodeinfo];
