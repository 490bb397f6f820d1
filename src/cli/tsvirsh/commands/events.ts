/**
 * `event`: wait for domain events and print them as virsh 9.0 does
 * (tools/virsh-domain-event.c): `event 'lifecycle' for domain 'X': Started Booted`, with
 * `--timestamp` a `YYYY-MM-DD HH:MM:SS.mmm+0000: ` prefix; one event unless `--loop`;
 * `--timeout` seconds; Ctrl-C ends the loop; finally `events received: N` (exit status 0
 * only if at least one event was received, as virsh).
 */

import { JSON_OPT, UsageError, type CommandDef } from '../cmd-def.js';
import type { DomainEvent } from '../conn.js';
import { lookupDomain } from '../lookup.js';
import { EVENT_IDS, eventDetailName, eventName } from '../names.js';

/** The event kinds the bhyve driver emits. */
const EMITTED = new Set(['lifecycle', 'reboot']);

function timestamp(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}+0000`;
}

export function formatEvent(e: DomainEvent): string {
  if (e.kind === 'reboot') return `event 'reboot' for domain '${e.dom.name}'\n`;
  return `event 'lifecycle' for domain '${e.dom.name}': ${eventName(e.event)} ${eventDetailName(e.event, e.detail)}\n`;
}

const event: CommandDef = {
  name: 'event',
  group: 'events',
  help: 'Domain Events',
  desc: 'List event types, or wait for domain events to occur',
  opts: [
    { name: 'domain', kind: 'string', help: 'filter by domain name, id or uuid' },
    { name: 'event', kind: 'string', help: 'which event type to wait for' },
    { name: 'all', kind: 'bool', help: 'wait for all events instead of just one type' },
    { name: 'loop', kind: 'bool', help: 'loop until timeout or interrupt, rather than one-shot' },
    { name: 'timeout', kind: 'int', help: 'timeout seconds' },
    { name: 'list', kind: 'bool', help: 'list valid event types' },
    { name: 'timestamp', kind: 'bool', help: 'show timestamp for each printed event' },
    JSON_OPT,
  ],
  async run(ctl, o) {
    for (const [a, b] of [['all', 'event'], ['list', 'all'], ['list', 'event']] as const) {
      if (o.has(a) && o.has(b)) {
        ctl.error(`Options --${a} and --${b} are mutually exclusive`);
        return false;
      }
    }
    if (o.bool('list')) {
      for (const n of EVENT_IDS) ctl.print(`${n}\n`);
      return true;
    }
    const which = o.str('event');
    if (which === undefined && !o.bool('all')) {
      ctl.error('one of --list, --all, or --event <type> is required');
      return false;
    }
    if (which !== undefined && !EVENT_IDS.includes(which)) {
      ctl.error(`unknown event type ${which}`);
      return false;
    }
    const timeout = o.int('timeout');
    if (timeout !== undefined && (timeout <= 0 || timeout > 2147483)) throw new UsageError(`invalid timeout ${timeout}`);
    const conn = await ctl.getConn();
    let uuid: string | undefined;
    if (o.has('domain')) {
      const dom = await lookupDomain(ctl, conn, o.str('domain')!);
      if (!dom) return false;
      uuid = dom.uuid;
    }
    const loop = o.bool('loop');
    const asJson = o.bool('json');
    let count = 0;
    const outcome = await new Promise<'done' | 'timeout' | 'interrupt'>((resolve) => {
      let unsub: () => void = () => undefined;
      const timer = timeout !== undefined ? setTimeout(() => end('timeout'), timeout * 1000) : undefined;
      const onSig = () => end('interrupt');
      process.once('SIGINT', onSig);
      const keepAlive = setInterval(() => undefined, 1 << 30);
      function end(how: 'done' | 'timeout' | 'interrupt') {
        unsub();
        if (timer) clearTimeout(timer);
        clearInterval(keepAlive);
        process.off('SIGINT', onSig);
        resolve(how);
      }
      unsub = conn.subscribe((e) => {
        if (uuid !== undefined && e.dom.uuid !== uuid) return;
        const kind = e.kind;
        if (which !== undefined && which !== kind) return;
        if (!EMITTED.has(kind)) return;
        if (!loop && count > 0) return;
        const prefix = o.bool('timestamp') ? `${timestamp()}: ` : '';
        if (asJson) {
          ctl.print(`${JSON.stringify({ time: new Date().toISOString(), event: kind, domain: e.dom.name, uuid: e.dom.uuid, ...(e.kind === 'lifecycle' ? { type: eventName(e.event), detail: eventDetailName(e.event, e.detail) } : {}) })}\n`);
        } else {
          ctl.print(prefix + formatEvent(e));
        }
        count++;
        if (!loop) end('done');
      });
    });
    if (outcome === 'interrupt') ctl.print('event loop interrupted\n');
    if (outcome === 'timeout') ctl.print('event loop timed out\n');
    ctl.print(`events received: ${count}\n`);
    return count > 0;
  },
};

export const eventCommands: CommandDef[] = [event];
