/**
 * Direct kernel boot as hyperkit spells it (bhyve-userland.md §7), stored under `boot.*`
 * keys of tsbhyve's own naming (docs/tsbhyve-config.md):
 *
 *   -f kexec,KERNEL[,INITRD][,"CMDLINE"]
 *        boot.protocol=linux  boot.kernel=KERNEL  boot.initrd=INITRD  boot.cmdline=CMDLINE
 *   -f multiboot,KERNEL[,MODULE[;MODCMDLINE][:MODULE[;MODCMDLINE]]...][,"CMDLINE"]
 *        boot.protocol=multiboot  boot.kernel=KERNEL  boot.cmdline=CMDLINE
 *        boot.module.N.path=MODULE  boot.module.N.cmdline=MODCMDLINE
 *
 * As in hyperkit's firmware_parse the argument is cut at its first three commas only, so
 * the command line may itself contain commas; empty fields mean "none". One pair of
 * double quotes around the command line is removed (hyperkit's usage shows it quoted).
 * Text → tree only; the loaders read the files.
 */
import type { ConfigTree } from './tree.js';

export const DIRECT_BOOT_PROTOCOLS = ['kexec', 'multiboot'] as const;

/** Whether a `-f` argument is a hyperkit direct-boot spec rather than bhyve's fw_cfg form. */
export function isDirectBootArg(opt: string): boolean {
  const first = opt.split(',', 1)[0]!;
  return (DIRECT_BOOT_PROTOCOLS as readonly string[]).includes(first);
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** Parses a direct-boot `-f` argument into `boot.*` keys; returns an error text or undefined. */
export function parseDirectBoot(tree: ConfigTree, opt: string): string | undefined {
  const fields: string[] = [];
  let rest = opt;
  for (let k = 0; k < 3; k++) {
    const c = rest.indexOf(',');
    if (c < 0) break;
    fields.push(rest.slice(0, c));
    rest = rest.slice(c + 1);
  }
  fields.push(rest);
  const [kind, kernel, second, cmdline] = fields as [string, string | undefined, string | undefined, string | undefined];
  if (!kernel) return `${kind}: a kernel path is required`;
  if (tree.findNode('boot')) return 'only one -f kexec/multiboot option may be given';
  const boot = tree.createNode('boot');
  boot.set('protocol', kind === 'kexec' ? 'linux' : 'multiboot');
  boot.set('kernel', kernel);
  if (second) {
    if (kind === 'kexec') boot.set('initrd', second);
    else {
      let n = 0;
      for (const mod of second.split(':')) {
        if (mod === '') continue;
        const semi = mod.indexOf(';');
        const m = boot.create(`module.${n}`);
        m.set('path', semi < 0 ? mod : mod.slice(0, semi));
        if (semi >= 0) m.set('cmdline', mod.slice(semi + 1));
        n++;
      }
    }
  }
  if (cmdline) boot.set('cmdline', unquote(cmdline));
  return undefined;
}
