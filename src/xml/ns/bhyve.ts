/**
 * The bhyve namespace of domain XML (`xmlns:bhyve='http://libvirt.org/schemas/domain/bhyve/1.0'`):
 * `<bhyve:commandline>` with `<bhyve:arg value=''/>` (extra bhyve arguments) and
 * `<bhyve:env name='' value=''/>` (environment of the bhyve process).
 *
 * Parse/format follow libvirt's bhyve_domain.c (bhyveDomainDefNamespaceParse /
 * bhyveDomainDefNamespaceFormatXML): args are written first, then env entries (the order
 * libvirt's qemu namespace uses; libvirt 9.0's schema knows only `arg`); an empty
 * commandline is dropped. The prefix in the input may be any prefix bound to the URI
 * (the caller resolves it); output always uses `bhyve:`. Env names must be shell
 * identifiers ("Invalid environment name"), as libvirt checks.
 * This module does not run anything: the driver turns these into argv/environment.
 */

import type { Writer } from '../format/writer.js';
import { attr } from '../format/writer.js';
import { xmlError } from '../errors.js';
import type { BhyveCommandline, XmlElement } from '../types.js';

export const BHYVE_NS_URI = 'http://libvirt.org/schemas/domain/bhyve/1.0';
export const BHYVE_NS_PREFIX = 'bhyve';

function localName(name: string): string {
  const c = name.indexOf(':');
  return c < 0 ? name : name.slice(c + 1);
}

function attrOf(el: XmlElement, name: string): string | undefined {
  for (const [k, v] of el.attrs) if (k === name) return v;
  return undefined;
}

/** Reads the namespace's top-level elements (already selected by URI). */
export function parseBhyveNamespace(elems: XmlElement[]): BhyveCommandline | undefined {
  const cmd: BhyveCommandline = { args: [], envs: [] };
  for (const el of elems) {
    if (localName(el.name) !== 'commandline') continue;
    for (const c of el.children) {
      if (typeof c === 'string') continue;
      const ln = localName(c.name);
      if (ln === 'arg') {
        const v = attrOf(c, 'value');
        if (v === undefined) throw xmlError('No bhyve command-line argument specified');
        cmd.args.push(v);
      } else if (ln === 'env') {
        const name = attrOf(c, 'name');
        if (name === undefined || name === '') throw xmlError('No bhyve environment name specified');
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw xmlError(`Invalid environment name, it must begin with a letter or underscore: '${name}'`);
        cmd.envs.push({ name, value: attrOf(c, 'value') ?? '' });
      }
    }
  }
  return cmd.args.length || cmd.envs.length ? cmd : undefined;
}

/** Writes `<bhyve:commandline>` at the writer's depth. */
export function formatBhyveNamespace(w: Writer, cmd: BhyveCommandline): void {
  if (!cmd.args.length && !cmd.envs.length) return;
  w.open(`${BHYVE_NS_PREFIX}:commandline`, '');
  for (const a of cmd.args) w.empty(`${BHYVE_NS_PREFIX}:arg`, attr('value', a));
  for (const e of cmd.envs) w.empty(`${BHYVE_NS_PREFIX}:env`, attr('name', e.name) + attr('value', e.value));
  w.close(`${BHYVE_NS_PREFIX}:commandline`);
}
