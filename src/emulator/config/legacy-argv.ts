/**
 * bhyve's command line → configuration tree (bhyve-userland.md §1; FreeBSD
 * amd64/bhyverun_machdep.c bhyve_optparse + bhyverun.c main up to `config.dump`).
 *
 * Options are applied left to right onto a tree that starts with bhyve's defaults; `-k`
 * files are read where they appear; the one operand is the VM name; `lpc.bootrom` /
 * `lpc.bootvars` are copied to `bootrom` / `bootvars` as bhyve 14.2+ does. tsbhyve adds
 * `-f kexec,...` / `-f multiboot,...` (hyperkit's direct boot, direct-boot.ts) next to
 * bhyve's `-f name,string=|file=`, and `-V soft|kvm|auto` (= `-o vmm.backend=`).
 *
 * Returns what to do next (run with this tree, print a list, print usage) or throws a
 * ConfigError carrying bhyve's message and exit status. It never prints, exits or opens
 * anything but the `-k` files, through the injected reader.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, EXIT_ERROR, EXIT_USAGE, EXIT_USAGE_TEXT } from './errors.js';
import { getopt } from './getopt.js';
import { setDefaults, VMM_BACKENDS } from './keys.js';
import { parseLpcDevice } from './lpc-device.js';
import { parseFwCfgFile, parseGdb, parseNuma, parsePinning, parseTopology, type FwCfgUserFile } from './options.js';
import { parsePciSlot } from './pci-slot.js';
import { isDirectBootArg, parseDirectBoot } from './direct-boot.js';
import { ConfigTree } from './tree.js';

export const OPTSTRING = 'aehuwxACDHIMPSWYk:f:o:p:G:c:s:m:n:l:K:U:V:';

export type ParseOutcome =
  | { kind: 'config'; tree: ConfigTree; fwcfgFiles: FwCfgUserFile[]; warnings: string[] }
  | { kind: 'usage'; exitStatus: 0 | 1; message?: string }
  | { kind: 'list-pci' }
  | { kind: 'list-lpc' };

export interface ParseOptions {
  /** Reads a `-k` file; defaults to the file system. Throws a Node error on failure. */
  readFile?: (path: string) => string;
}

/** `strncmp(arg, "help", strlen(arg)) == 0`: any prefix of "help", even empty. */
function isHelp(arg: string): boolean {
  return 'help'.startsWith(arg);
}

/** bhyve_parse_config_option: `path=value` with a non-empty value. */
export function parseConfigOption(tree: ConfigTree, option: string): boolean {
  const eq = option.indexOf('=');
  if (eq < 0 || eq === option.length - 1) return false;
  tree.set(option.slice(0, eq), option.slice(eq + 1));
  return true;
}

/** bhyve_parse_simple_config_file: one `path=value` per line, `#` comments. */
export function parseConfigFile(tree: ConfigTree, path: string, readFile: (p: string) => string): void {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`Failed to open configuration file ${path}: ${describeErrno(e)}`, EXIT_ERROR);
  }
  const lines = text.split('\n');
  // A final newline ends the last line; it does not start an empty one.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, i) => {
    if (line === '' || line.startsWith('#')) return;
    if (!parseConfigOption(tree, line)) {
      throw new ConfigError(`${path} line ${i + 1}: invalid config option '${line}'`, EXIT_ERROR);
    }
  });
}

function describeErrno(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'EACCES':
      return 'Permission denied';
    case 'EISDIR':
      return 'Is a directory';
    default:
      return e.message;
  }
}

/** Parses argv (without the program name) the way bhyve does before `config.dump`. */
export function parseCommandLine(args: readonly string[], opts: ParseOptions = {}): ParseOutcome {
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const warnings: string[] = [];
  const tree = new ConfigTree({ onWarning: (m) => warnings.push(m) });
  const fwcfgFiles: FwCfgUserFile[] = [];
  setDefaults(tree);
  const usageError = (msg: string): never => {
    throw new ConfigError(msg, EXIT_USAGE);
  };

  let operands: string[] = [];
  for (const ev of getopt(args, OPTSTRING)) {
    if (ev.kind === 'error') return { kind: 'usage', exitStatus: 1, message: ev.message };
    if (ev.kind === 'end') {
      operands = ev.operands;
      break;
    }
    const arg = ev.arg ?? '';
    switch (ev.opt) {
      case 'a':
        tree.setBool('x86.x2apic', false);
        break;
      case 'A': // no-op since FreeBSD 14.2: ACPI tables are always built
      case 'I': // no-op: an I/O APIC is always present
        break;
      case 'C':
        tree.setBool('memory.guest_in_core', true);
        break;
      case 'D':
        tree.setBool('destroy_on_poweroff', true);
        break;
      case 'e':
        tree.setBool('x86.strictio', true);
        break;
      case 'H':
        tree.setBool('x86.vmexit_on_hlt', true);
        break;
      case 'h':
        return { kind: 'usage', exitStatus: 0 };
      case 'M':
        tree.setBool('monitor', true);
        break;
      case 'P':
        tree.setBool('x86.vmexit_on_pause', true);
        break;
      case 'S':
        tree.setBool('memory.wired', true);
        break;
      case 'u':
        tree.setBool('rtc.use_localtime', false);
        break;
      case 'w':
        tree.setBool('x86.strictmsr', false);
        break;
      case 'W':
        tree.setBool('virtio_msix', false);
        break;
      case 'x':
        tree.setBool('x86.x2apic', true);
        break;
      case 'Y':
        tree.setBool('x86.mptable', false);
        break;
      case 'c':
        if (!parseTopology(tree, arg)) usageError(`invalid cpu topology '${arg}'`);
        break;
      case 'p': {
        const r = parsePinning(tree, arg);
        if (!r.ok) usageError(`invalid vcpu pinning configuration '${arg}': ${r.detail}`);
        break;
      }
      case 'f':
        if (isDirectBootArg(arg)) {
          const err = parseDirectBoot(tree, arg);
          if (err) usageError(`invalid direct boot option '${arg}': ${err}`);
        } else {
          const f = parseFwCfgFile(arg);
          if (!f) usageError(`invalid fwcfg item '${arg}'`);
          fwcfgFiles.push(f!);
        }
        break;
      case 'G':
        parseGdb(tree, arg);
        break;
      case 'k':
        parseConfigFile(tree, arg, readFile);
        break;
      case 'K':
        tree.set('keyboard.layout', arg);
        break;
      case 'l':
        if (isHelp(arg)) return { kind: 'list-lpc' };
        parseLpcDevice(tree, arg);
        break;
      case 's':
        if (isHelp(arg)) return { kind: 'list-pci' };
        parsePciSlot(tree, arg);
        break;
      case 'm':
        tree.set('memory.size', arg);
        break;
      case 'n':
        if (!parseNuma(tree, arg)) usageError(`invalid NUMA configuration '${arg}'`);
        if (!tree.getBool('acpi_tables', false)) usageError('NUMA emulation requires ACPI');
        break;
      case 'o':
        if (!parseConfigOption(tree, arg)) usageError(`invalid configuration option '${arg}'`);
        break;
      case 'U':
        tree.set('uuid', arg);
        break;
      case 'V':
        if (!(VMM_BACKENDS as readonly string[]).includes(arg)) {
          usageError(`invalid vmm backend '${arg}' (expected ${VMM_BACKENDS.join(', ')})`);
        }
        tree.set('vmm.backend', arg);
        break;
      default:
        return { kind: 'usage', exitStatus: 1, message: `illegal option -- ${ev.opt}` };
    }
  }

  // Backwards-compatibility aliases (bhyve 14.2+), before config.dump is looked at.
  const lpcBootrom = tree.get('lpc.bootrom');
  if (lpcBootrom !== undefined && tree.get('bootrom') === undefined) {
    warnings.push("lpc.bootrom is deprecated, use '-o bootrom' instead");
    tree.set('bootrom', lpcBootrom);
  }
  const lpcBootvars = tree.get('lpc.bootvars');
  if (lpcBootvars !== undefined && tree.get('bootvars') === undefined) {
    warnings.push("lpc.bootvars is deprecated, use '-o bootvars' instead");
    tree.set('bootvars', lpcBootvars);
  }

  if (operands.length > 1) return { kind: 'usage', exitStatus: EXIT_USAGE_TEXT };
  if (operands.length === 1) tree.set('name', operands[0]!);
  if (tree.get('name') === undefined) return { kind: 'usage', exitStatus: EXIT_USAGE_TEXT };
  return { kind: 'config', tree, fwcfgFiles, warnings };
}

/** bhyve_usage() text, with tsbhyve's additions (-f direct boot, -V). */
export function usageText(progname: string): string {
  const pad = ' '.repeat(progname.length);
  return (
    `Usage: ${progname} [-aCDeHhMPSuWwxY]\n` +
    `       ${pad} [-c [[cpus=]numcpus][,sockets=n][,cores=n][,threads=n]]\n` +
    `       ${pad} [-f kexec,kernel[,initrd][,cmdline] | -f multiboot,kernel[,modules][,cmdline]]\n` +
    `       ${pad} [-G [w][addr:]port] [-k config_file] [-l lpc] [-m mem] [-o var=value]\n` +
    `       ${pad} [-p vcpu:hostcpu] [-s pci] [-U uuid] [-V soft|kvm|auto] vmname\n` +
    '       -a: local apic is in xAPIC mode (deprecated)\n' +
    '       -C: include guest memory in core file\n' +
    '       -c: number of CPUs and/or topology specification\n' +
    '       -D: destroy on power-off\n' +
    '       -e: exit on unhandled I/O access\n' +
    '       -f: direct kernel boot (kexec, multiboot) or fw_cfg file (name,string=|file=)\n' +
    '       -G: start a GDB debug server (w: wait for the debugger before the first instruction)\n' +
    '       -H: vmexit from the guest on HLT\n' +
    '       -h: help\n' +
    '       -k: key=value flat config file\n' +
    '       -K: PS2 keyboard layout\n' +
    '       -l: LPC device configuration\n' +
    '       -M: monitor mode\n' +
    '       -m: memory size\n' +
    '       -n: NUMA domain specification\n' +
    "       -o: set config 'var' to 'value'\n" +
    '       -P: vmexit from the guest on pause\n' +
    "       -p: pin 'vcpu' to 'hostcpu'\n" +
    '       -S: guest memory cannot be swapped\n' +
    '       -s: <slot,driver,configinfo> PCI slot config\n' +
    '       -U: UUID\n' +
    '       -u: RTC keeps UTC time\n' +
    '       -V: vmm backend (soft, kvm or auto)\n' +
    '       -W: force virtio to use single-vector MSI\n' +
    '       -w: ignore unimplemented MSRs\n' +
    '       -x: local APIC is in x2APIC mode\n' +
    '       -Y: disable MPtable generation\n'
  );
}
