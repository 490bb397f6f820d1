/**
 * `console`: attach the terminal to a domain's serial console (virsh-console.c): the
 * terminal goes to raw mode, bytes flow both ways until the escape character (default
 * `^]`, set with -e) is typed or the console closes, then the terminal is restored.
 * Like virsh, it needs a controlling TTY.
 */

import type { Ctl } from './ctl.js';
import type { Conn, DomainRef } from './conn.js';
import { startMark } from '../../driver/start-trace.js';

/** The byte an escape specification (`^]`, `^a`, or a single character) stands for. */
export function escapeByte(spec: string): number | undefined {
  if (spec.length === 2 && spec[0] === '^') {
    const c = spec.charCodeAt(1);
    if (c >= 0x40 && c <= 0x7f) return c & 0x1f;
    return undefined;
  }
  if (spec.length === 1) return spec.charCodeAt(0);
  return undefined;
}

export async function runConsole(ctl: Ctl, conn: Conn, dom: DomainRef, devname: string | null, flags: number, checkState: boolean): Promise<boolean> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    ctl.error('Cannot run interactive console without a controlling TTY');
    return false;
  }
  if (checkState) {
    const st = await conn.getDomainState(dom, 0).catch(() => undefined);
    if (!st || st.state === 5) {
      ctl.error('The domain is not running');
      return false;
    }
  }
  if (!conn.openConsole) {
    ctl.error('this function is not supported by the connection driver: virDomainOpenConsole');
    return false;
  }
  let stream;
  try {
    stream = await conn.openConsole(dom, devname, flags);
  } catch (e) {
    ctl.report(e);
    return false;
  }
  const esc = escapeByte(ctl.escape) ?? 0x1d;
  ctl.printExtra(`Connected to domain '${dom.name}'\n`);
  ctl.printExtra(`Escape character is ${ctl.escape}${ctl.escape.startsWith('^') ? ` (Ctrl + ${ctl.escape[1]})` : ''}\n`);
  return new Promise<boolean>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      stdin.off('data', onInput);
      try {
        stdin.setRawMode(false);
      } catch {
        /* terminal gone */
      }
      stdin.pause();
      stream.destroy();
      resolve(true);
    };
    const onInput = (b: Buffer) => {
      const i = b.indexOf(esc);
      if (i >= 0) {
        if (i > 0) stream.write(b.subarray(0, i));
        finish();
        return;
      }
      stream.write(b);
    };
    stdin.setRawMode(true);
    stdin.on('data', onInput);
    stdin.resume();
    startMark('console attached');
    let first = true;
    stream.on('data', (b: Buffer) => {
      if (first) {
        first = false;
        startMark('console first byte');
      }
      process.stdout.write(b);
    });
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  });
}
