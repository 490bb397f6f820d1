/**
 * tsvirsh's own commands (virsh's "Virsh itself" group): help, quit, exit, connect.
 */

import { formatCommandHelp, type CommandDef } from '../cmd-def.js';
import type { Ctl } from '../ctl.js';

export const GROUPS: Array<[CommandDef['group'], string]> = [
  ['domain', 'Domain Management'],
  ['monitor', 'Domain Monitoring'],
  ['events', 'Domain Events'],
  ['host', 'Host and Hypervisor'],
  ['virsh', 'Virsh itself'],
];

function groupText(all: CommandDef[], group: CommandDef['group'], title: string): string {
  const cmds = all.filter((c) => c.group === group).sort((a, b) => (a.name < b.name ? -1 : 1));
  return ` ${title} (help keyword '${group}'):\n${cmds.map((c) => `    ${c.name.padEnd(30)} ${c.help}\n`).join('')}\n`;
}

export function virshCommands(all: () => CommandDef[]): CommandDef[] {
  const help: CommandDef = {
    name: 'help',
    group: 'virsh',
    help: 'print help',
    desc: 'Prints global help, command specific help, or help for a\ngroup of related commands',
    opts: [{ name: 'command', kind: 'string', positional: true, help: 'Prints global help, command specific help, or help for a group of related commands' }],
    noConnect: true,
    async run(ctl: Ctl, o) {
      const name = o.str('command');
      if (name === undefined) {
        ctl.print('Grouped commands:\n\n');
        for (const [g, t] of GROUPS) ctl.print(groupText(all(), g, t));
        return true;
      }
      const def = all().find((c) => c.name === name);
      if (def) {
        ctl.print(formatCommandHelp(def));
        return true;
      }
      const group = GROUPS.find(([g]) => g === name);
      if (group) {
        ctl.print(groupText(all(), group[0], group[1]));
        return true;
      }
      ctl.error(`command or command group '${name}' doesn't exist`);
      return false;
    },
  };
  const quit = (name: string): CommandDef => ({
    name,
    group: 'virsh',
    help: 'quit this interactive terminal',
    opts: [],
    noConnect: true,
    async run(ctl) {
      ctl.quitRequested = true;
      return true;
    },
  });
  const connect: CommandDef = {
    name: 'connect',
    group: 'virsh',
    help: '(re)connect to hypervisor',
    desc: 'Connect to local hypervisor. This is built-in command after shell start up.',
    opts: [
      { name: 'name', kind: 'string', positional: true, help: 'hypervisor connection URI' },
      { name: 'readonly', kind: 'bool', help: 'read-only connection' },
    ],
    noConnect: true,
    async run(ctl, o) {
      await ctl.disconnect();
      if (o.has('name')) ctl.uri = o.str('name');
      ctl.readonly = o.bool('readonly');
      try {
        await ctl.getConn();
        return true;
      } catch (e) {
        ctl.error('Failed to connect to the hypervisor');
        ctl.report(e);
        return false;
      }
    },
  };
  return [help, quit('quit'), quit('exit'), connect];
}
