/**
 * Domain management commands, messages and exit status as virsh 9.0 (tools/virsh-domain.c):
 * define, undefine, create, start, destroy, shutdown, reboot, reset, suspend, resume,
 * autostart, console, dumpxml, edit, domxml-to-native, domxml-from-native.
 *
 * Options virsh has and tsvirt cannot honour (storage removal, --xpath, fd passing...) are
 * accepted by the parser, as in virsh, and refused with an error naming them.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { domainOpt, type CommandDef, type Opts } from '../cmd-def.js';
import type { Ctl } from '../ctl.js';
import type { Conn, DomainRef } from '../conn.js';
import { BY_ALL, BY_NAME, BY_UUID, lookupDomain } from '../lookup.js';
import { runConsole } from '../console.js';
import { ask } from '../prompt.js';

const VIR_DOMAIN_START_PAUSED = 1;
const VIR_DOMAIN_DEFINE_VALIDATE = 1;
const VIR_DOMAIN_XML_SECURE = 1;
const VIR_DOMAIN_XML_INACTIVE = 2;
const VIR_DOMAIN_XML_UPDATE_CPU = 4;
const VIR_DOMAIN_XML_MIGRATABLE = 8;
/** The largest XML file virsh reads (VSH_MAX_XML_FILE). */
const MAX_XML_FILE = 10 * 1024 * 1024;

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EPERM: 'Operation not permitted',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EIO: 'Input/output error',
};

/** virFileReadAll: the file's text, or an error printed as libvirt prints it. */
async function readXmlFile(ctl: Ctl, path: string): Promise<string | undefined> {
  try {
    const st = await fsp.stat(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (st.size > MAX_XML_FILE) {
      ctl.error(`File '${path}' is too large`);
      return undefined;
    }
    return await fsp.readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    ctl.error(`Failed to open file '${path}': ${ERRNO_TEXT[code] ?? (e as Error).message}`);
    return undefined;
  }
}

/** Run a driver call; on failure print virsh's two error lines. */
async function attempt<T>(ctl: Ctl, failure: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    ctl.error(failure);
    ctl.report(e);
    return undefined;
  }
}

/** Print what a driver call returns; on failure report its error. The command's result. */
async function printResult(ctl: Ctl, fn: () => Promise<string>): Promise<boolean> {
  try {
    ctl.print(await fn());
    return true;
  } catch (e) {
    ctl.report(e);
    return false;
  }
}

function refuse(ctl: Ctl, o: Opts, names: string[]): boolean {
  for (const n of names) {
    if (o.has(n)) {
      ctl.error(`option --${n} is not supported by tsvirsh`);
      return true;
    }
  }
  return false;
}

async function domainArg(ctl: Ctl, o: Opts, by = BY_ALL): Promise<{ conn: Conn; dom: DomainRef; name: string } | undefined> {
  const conn = await ctl.getConn();
  const name = o.str('domain')!;
  const dom = await lookupDomain(ctl, conn, name, by);
  return dom ? { conn, dom, name } : undefined;
}

const FILE_OPT = { name: 'file', kind: 'data' as const, required: true, help: 'file containing an XML domain description' };
const VALIDATE_OPT = { name: 'validate', kind: 'bool' as const, help: 'validate the XML against the schema' };

const define: CommandDef = {
  name: 'define',
  group: 'domain',
  help: "define (but don't start) a domain from an XML file",
  desc: 'Define a domain.',
  opts: [FILE_OPT, VALIDATE_OPT],
  async run(ctl, o) {
    const file = o.str('file')!;
    const conn = await ctl.getConn();
    const xml = await readXmlFile(ctl, file);
    if (xml === undefined) return false;
    const dom = await attempt(ctl, `Failed to define domain from ${file}`, () => conn.defineDomain(xml, o.bool('validate') ? VIR_DOMAIN_DEFINE_VALIDATE : 0));
    if (!dom) return false;
    ctl.printExtra(`Domain '${dom.name}' defined from ${file}\n`);
    return true;
  },
};

const undefine: CommandDef = {
  name: 'undefine',
  group: 'domain',
  help: 'undefine a domain',
  desc: 'Undefine an inactive domain, or convert persistent to transient.',
  opts: [
    domainOpt(),
    { name: 'managed-save', kind: 'bool', help: 'remove domain managed state file' },
    { name: 'storage', kind: 'string', help: 'remove associated storage volumes (comma separated list of targets or source paths) (see domblklist)' },
    { name: 'remove-all-storage', kind: 'bool', help: 'remove all associated storage volumes (use with caution)' },
    { name: 'delete-storage-volume-snapshots', kind: 'bool', help: 'delete snapshots associated with volume(s), requires --remove-all-storage (must be supported by storage driver)' },
    { name: 'wipe-storage', kind: 'bool', help: 'wipe data on the removed volumes' },
    { name: 'snapshots-metadata', kind: 'bool', help: 'remove all domain snapshot metadata (vm must be inactive)' },
    { name: 'checkpoints-metadata', kind: 'bool', help: 'remove all domain checkpoint metadata (vm must be inactive)' },
    { name: 'nvram', kind: 'bool', help: 'remove nvram file' },
    { name: 'keep-nvram', kind: 'bool', help: 'keep nvram file' },
    { name: 'tpm', kind: 'bool', help: 'remove TPM state' },
    { name: 'keep-tpm', kind: 'bool', help: 'keep TPM state' },
  ],
  async run(ctl, o) {
    if (refuse(ctl, o, ['storage', 'remove-all-storage', 'delete-storage-volume-snapshots', 'wipe-storage'])) return false;
    for (const [a, b] of [['nvram', 'keep-nvram'], ['tpm', 'keep-tpm']] as const) {
      if (o.bool(a) && o.bool(b)) {
        ctl.error(`Options --${a} and --${b} are mutually exclusive`);
        return false;
      }
    }
    const d = await domainArg(ctl, o);
    if (!d) return false;
    let flags = 0;
    if (o.bool('managed-save')) flags |= 1;
    if (o.bool('snapshots-metadata')) flags |= 2;
    if (o.bool('nvram')) flags |= 4;
    if (o.bool('keep-nvram')) flags |= 8;
    if (o.bool('checkpoints-metadata')) flags |= 16;
    if (o.bool('tpm')) flags |= 32;
    if (o.bool('keep-tpm')) flags |= 64;
    const ok = await attempt(ctl, `Failed to undefine domain '${d.name}'`, async () => {
      await d.conn.undefineDomain(d.dom, flags);
      return true;
    });
    if (!ok) return false;
    ctl.printExtra(`Domain '${d.name}' has been undefined\n`);
    return true;
  },
};

const startOpts = [
  { name: 'console', kind: 'bool' as const, help: 'attach to console after creation' },
  { name: 'paused', kind: 'bool' as const, help: 'leave the guest paused after creation' },
  { name: 'autodestroy', kind: 'bool' as const, help: 'automatically destroy the guest when virsh disconnects' },
];

const create: CommandDef = {
  name: 'create',
  group: 'domain',
  help: 'create a domain from an XML file',
  desc: 'Create a domain.',
  opts: [
    FILE_OPT,
    ...startOpts,
    { name: 'pass-fds', kind: 'string', help: 'pass file descriptors N,M,... to the guest' },
    VALIDATE_OPT,
    { name: 'reset-nvram', kind: 'bool', help: 're-initialize NVRAM from its pristine template' },
  ],
  async run(ctl, o) {
    if (refuse(ctl, o, ['autodestroy', 'pass-fds', 'reset-nvram'])) return false;
    const file = o.str('file')!;
    const conn = await ctl.getConn();
    const xml = await readXmlFile(ctl, file);
    if (xml === undefined) return false;
    const dom = await attempt(ctl, `Failed to create domain from ${file}`, () => conn.createDomain(xml, o.bool('paused') ? VIR_DOMAIN_START_PAUSED : 0));
    if (!dom) return false;
    ctl.printExtra(`Domain '${dom.name}' created from ${file}\n`);
    if (o.bool('console')) return runConsole(ctl, conn, dom, null, 0, false);
    return true;
  },
};

const start: CommandDef = {
  name: 'start',
  group: 'domain',
  help: 'start a (previously defined) inactive domain',
  desc: 'Start a domain, either from the last managedsave\nstate, or via a fresh boot if no managedsave state\nis present.',
  opts: [
    domainOpt('name of the inactive domain'),
    ...startOpts,
    { name: 'bypass-cache', kind: 'bool', help: 'avoid file system cache when loading' },
    { name: 'force-boot', kind: 'bool', help: 'force fresh boot by discarding any managed save' },
    { name: 'pass-fds', kind: 'string', help: 'pass file descriptors N,M,... to the guest' },
    { name: 'reset-nvram', kind: 'bool', help: 're-initialize NVRAM from its pristine template' },
  ],
  async run(ctl, o) {
    if (refuse(ctl, o, ['autodestroy', 'bypass-cache', 'pass-fds', 'reset-nvram'])) return false;
    const d = await domainArg(ctl, o, BY_NAME | BY_UUID);
    if (!d) return false;
    if (d.dom.id !== -1) {
      ctl.error('Domain is already active');
      return false;
    }
    // --force-boot discards a managed save image; tsvirt has none, so every start is a fresh boot.
    const started = await attempt(ctl, `Failed to start domain '${d.dom.name}'`, () => d.conn.startDomain(d.dom, o.bool('paused') ? VIR_DOMAIN_START_PAUSED : 0));
    if (!started) return false;
    ctl.printExtra(`Domain '${d.dom.name}' started\n`);
    if (o.bool('console')) return runConsole(ctl, d.conn, started, null, 0, false);
    return true;
  },
};

const destroy: CommandDef = {
  name: 'destroy',
  group: 'domain',
  help: 'destroy (stop) a domain',
  desc: 'Forcefully stop a given domain, but leave its resources intact.',
  opts: [domainOpt(), { name: 'graceful', kind: 'bool', help: 'terminate gracefully' }, { name: 'remove-logs', kind: 'bool', help: 'remove domain logs' }],
  async run(ctl, o) {
    const d = await domainArg(ctl, o);
    if (!d) return false;
    const flags = (o.bool('graceful') ? 1 : 0) | (o.bool('remove-logs') ? 2 : 0);
    const ok = await attempt(ctl, `Failed to destroy domain '${d.name}'`, async () => {
      await d.conn.destroyDomain(d.dom, flags);
      return true;
    });
    if (!ok) return false;
    ctl.printExtra(`Domain '${d.name}' destroyed\n`);
    return true;
  },
};

const MODES: Record<string, number> = { acpi: 1, agent: 2, initctl: 4, signal: 8, paravirt: 16 };
const MODE_OPT = { name: 'mode', kind: 'string' as const, help: 'shutdown mode: acpi|agent|initctl|signal|paravirt' };

function modeFlags(ctl: Ctl, o: Opts): number | undefined {
  const m = o.str('mode');
  if (m === undefined) return 0;
  let flags = 0;
  for (const part of m.split(',')) {
    const f = MODES[part];
    if (f === undefined) {
      ctl.error(`Unknown mode ${part} value, expecting 'acpi', 'agent', 'initctl', 'signal', or 'paravirt'`);
      return undefined;
    }
    flags |= f;
  }
  return flags;
}

function simple(name: string, help: string, desc: string, done: string, failed: string, call: (c: Conn, d: DomainRef, flags: number) => Promise<void>, withMode = false): CommandDef {
  return {
    name,
    group: 'domain',
    help,
    desc,
    opts: withMode ? [domainOpt(), MODE_OPT] : [domainOpt()],
    async run(ctl, o) {
      const flags = withMode ? modeFlags(ctl, o) : 0;
      if (flags === undefined) return false;
      const d = await domainArg(ctl, o);
      if (!d) return false;
      const ok = await attempt(ctl, failed.replace('%s', d.name), async () => {
        await call(d.conn, d.dom, flags);
        return true;
      });
      if (!ok) return false;
      ctl.printExtra(done.replace('%s', d.name));
      return true;
    },
  };
}

const shutdown = simple('shutdown', 'gracefully shutdown a domain', 'Run shutdown in the target domain.', "Domain '%s' is being shutdown\n", "Failed to shutdown domain '%s'", (c, d, f) => c.shutdownDomain(d, f), true);
const reboot = simple('reboot', 'reboot a domain', 'Run a reboot command in the target domain.', "Domain '%s' is being rebooted\n", "Failed to reboot domain '%s'", (c, d, f) => c.rebootDomain(d, f), true);
const reset = simple('reset', 'reset a domain', 'Reset the target domain as if by power button', "Domain '%s' was reset\n", "Failed to reset domain '%s'", (c, d) => c.resetDomain(d, 0));
const suspend = simple('suspend', 'suspend a domain', 'Suspend a running domain.', "Domain '%s' suspended\n", "Failed to suspend domain '%s'", (c, d) => c.suspendDomain(d));
const resume = simple('resume', 'resume a domain', 'Resume a previously suspended domain.', "Domain '%s' resumed\n", "Failed to resume domain '%s'", (c, d) => c.resumeDomain(d));

const autostart: CommandDef = {
  name: 'autostart',
  group: 'domain',
  help: 'autostart a domain',
  desc: 'Configure a domain to be automatically started at boot.',
  opts: [domainOpt(), { name: 'disable', kind: 'bool', help: 'disable autostarting' }],
  async run(ctl, o) {
    const d = await domainArg(ctl, o);
    if (!d) return false;
    const on = !o.bool('disable');
    const ok = await attempt(ctl, on ? `Failed to mark domain '${d.name}' as autostarted` : `Failed to unmark domain '${d.name}' as autostarted`, async () => {
      await d.conn.setDomainAutostart(d.dom, on);
      return true;
    });
    if (!ok) return false;
    ctl.printExtra(on ? `Domain '${d.name}' marked as autostarted\n` : `Domain '${d.name}' unmarked as autostarted\n`);
    return true;
  },
};

const consoleCmd: CommandDef = {
  name: 'console',
  group: 'domain',
  help: 'connect to the guest console',
  desc: 'Connect the virtual serial console for the guest',
  opts: [
    domainOpt(),
    { name: 'devname', kind: 'string', help: 'character device name' },
    { name: 'force', kind: 'bool', help: 'force console connection (disconnect already connected sessions)' },
    { name: 'safe', kind: 'bool', help: 'only connect if safe console handling is supported' },
  ],
  async run(ctl, o) {
    const d = await domainArg(ctl, o);
    if (!d) return false;
    const flags = (o.bool('force') ? 1 : 0) | (o.bool('safe') ? 2 : 0);
    return runConsole(ctl, d.conn, d.dom, o.str('devname') ?? null, flags, true);
  },
};

const dumpxml: CommandDef = {
  name: 'dumpxml',
  group: 'domain',
  help: 'domain information in XML',
  desc: 'Output the domain information as an XML dump to stdout.',
  opts: [
    domainOpt(),
    { name: 'inactive', kind: 'bool', help: 'show inactive defined XML' },
    { name: 'security-info', kind: 'bool', help: 'include security sensitive information in XML dump' },
    { name: 'update-cpu', kind: 'bool', help: 'update guest CPU according to host CPU' },
    { name: 'migratable', kind: 'bool', help: 'provide XML suitable for migrations' },
    { name: 'xpath', kind: 'string', help: 'xpath expression to filter the XML document' },
    { name: 'wrap', kind: 'bool', help: 'wrap xpath results in an common root element' },
  ],
  async run(ctl, o) {
    if (refuse(ctl, o, ['xpath', 'wrap'])) return false;
    const d = await domainArg(ctl, o);
    if (!d) return false;
    let flags = 0;
    if (o.bool('inactive')) flags |= VIR_DOMAIN_XML_INACTIVE;
    if (o.bool('security-info')) flags |= VIR_DOMAIN_XML_SECURE;
    if (o.bool('update-cpu')) flags |= VIR_DOMAIN_XML_UPDATE_CPU;
    if (o.bool('migratable')) flags |= VIR_DOMAIN_XML_MIGRATABLE;
    return printResult(ctl, () => d.conn.getDomainXml(d.dom, flags));
  },
};

const edit: CommandDef = {
  name: 'edit',
  group: 'domain',
  help: 'edit XML configuration for a domain',
  desc: 'Edit the XML configuration for a domain.',
  opts: [domainOpt(), { name: 'skip-validate', kind: 'bool', help: 'skip validation of the XML against the schema' }],
  async run(ctl, o) {
    const d = await domainArg(ctl, o);
    if (!d) return false;
    let xml: string;
    try {
      xml = await d.conn.getDomainXml(d.dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
    } catch (e) {
      ctl.report(e);
      return false;
    }
    const dir = mkdtempSync(join(tmpdir(), 'tsvirsh-'));
    const file = join(dir, `${d.dom.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.xml`);
    try {
      writeFileSync(file, xml, { mode: 0o600 });
      for (;;) {
        const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
        const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit' });
        if (r.status !== 0) {
          ctl.error(`Child process (${editor} ${file}) unexpected ${r.signal ? `fatal signal ${r.signal}` : `exit status ${r.status}`}`);
          return false;
        }
        const edited = readFileSync(file, 'utf8');
        if (edited === xml) {
          ctl.printExtra(`Domain '${d.dom.name}' XML configuration not changed.\n`);
          return true;
        }
        try {
          const dom = await d.conn.defineDomain(edited, o.bool('skip-validate') ? 0 : VIR_DOMAIN_DEFINE_VALIDATE);
          ctl.printExtra(`Domain '${dom.name}' XML configuration edited.\n`);
          return true;
        } catch (e) {
          ctl.report(e);
          if (!process.stdin.isTTY) return false;
          const answer = await ask('Failed. Try again? [y,n,i,f,?]:', ['y', 'n', 'i', 'f']);
          if (answer === 'n') return false;
          if (answer === 'i') {
            const dom = await attempt(ctl, 'Failed to define domain', () => d.conn.defineDomain(edited, 0));
            if (!dom) return false;
            ctl.printExtra(`Domain '${dom.name}' XML configuration edited.\n`);
            return true;
          }
          if (answer === 'f') writeFileSync(file, xml);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

const toNative: CommandDef = {
  name: 'domxml-to-native',
  group: 'domain',
  help: 'Convert domain XML to native config',
  desc: 'Convert domain XML config to a native guest configuration format.',
  opts: [
    { name: 'format', kind: 'data', required: true, help: 'target config data type format' },
    { name: 'domain', kind: 'string', help: 'domain name, id or uuid' },
    { name: 'xml', kind: 'string', help: 'xml data file to export from' },
  ],
  async run(ctl, o) {
    if (o.has('domain') && o.has('xml')) {
      ctl.error('Options --domain and --xml are mutually exclusive');
      return false;
    }
    if (!o.has('domain') && !o.has('xml')) {
      ctl.error('Exactly one of --domain or --xml is required');
      return false;
    }
    const conn = await ctl.getConn();
    let xml: string | undefined;
    if (o.has('xml')) xml = await readXmlFile(ctl, o.str('xml')!);
    else {
      const dom = await lookupDomain(ctl, conn, o.str('domain')!);
      if (!dom) return false;
      xml = await conn.getDomainXml(dom, 0).catch((e) => {
        ctl.report(e);
        return undefined;
      });
    }
    if (xml === undefined) return false;
    if (!conn.domainXmlToNative) {
      ctl.error('this function is not supported by the connection driver: virConnectDomainXMLToNative');
      return false;
    }
    const toNativeCall = conn.domainXmlToNative.bind(conn);
    return printResult(ctl, () => toNativeCall(o.str('format')!, xml, 0));
  },
};

const fromNative: CommandDef = {
  name: 'domxml-from-native',
  group: 'domain',
  help: 'Convert native config to domain XML',
  desc: 'Convert native guest configuration format to domain XML format.',
  opts: [
    { name: 'format', kind: 'data', required: true, help: 'source config data format' },
    { name: 'config', kind: 'data', required: true, help: 'config data file to import from' },
  ],
  async run(ctl, o) {
    const conn = await ctl.getConn();
    const config = await readXmlFile(ctl, o.str('config')!);
    if (config === undefined) return false;
    if (!conn.domainXmlFromNative) {
      ctl.error('this function is not supported by the connection driver: virConnectDomainXMLFromNative');
      return false;
    }
    const fromNativeCall = conn.domainXmlFromNative.bind(conn);
    return printResult(ctl, () => fromNativeCall(o.str('format')!, config, 0));
  },
};

export const domainCommands: CommandDef[] = [define, undefine, create, start, destroy, shutdown, reboot, reset, suspend, resume, autostart, consoleCmd, dumpxml, edit, toNative, fromNative];
