/**
 * TEST SCAFFOLDING: a minimal DomainDef → config-tree translator for driver tests that run
 * before the real translation (tsvirt/driver, issue 4) is merged. It writes `name=` and
 * the `-o key=value` pairs of `<bhyve:commandline>` (how tests pass knobs to the VM
 * stand-in), and reports one warning so the messages path is exercised. It translates no
 * devices and must never be used outside tests.
 */
import type { Translator } from '../../../../src/driver/driver.js';

export const testTranslator: Translator = {
  toConfig(def) {
    const lines = [`name=${def.name}`];
    const args = def.bhyveCommandline?.args ?? [];
    for (let i = 0; i < args.length; i++) if (args[i] === '-o' && args[i + 1] !== undefined) lines.push(args[++i]!);
    return { config: `${lines.join('\n')}\n`, liveDef: def, warnings: ['test translator: no devices translated'] };
  },
};

/** A domain XML for the stand-in, with optional `-o key=value` knobs. */
export function standInDomain(name: string, uuid: string, opts: { knobs?: string[]; extra?: string } = {}): string {
  const knobs = (opts.knobs ?? []).map((k) => `    <bhyve:arg value='-o'/>\n    <bhyve:arg value='${k}'/>`).join('\n');
  return `<domain type='bhyve' xmlns:bhyve='http://libvirt.org/schemas/domain/bhyve/1.0'>
  <name>${name}</name>
  <uuid>${uuid}</uuid>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  ${opts.extra ?? ''}
  <devices>
    <serial type='pty'><target port='0'/></serial>
  </devices>${knobs ? `\n  <bhyve:commandline>\n${knobs}\n  </bhyve:commandline>` : ''}
</domain>
`;
}
