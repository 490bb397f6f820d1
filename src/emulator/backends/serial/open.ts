/**
 * Turns a serial backend string (`lpc.comN.path`, a PCI uart's `path`) into a backend
 * (bhyve uart_set_backend; bhyve-userland.md §1.5; docs/tsbhyve-config.md):
 *
 *   stdio            tsbhyve's stdin/stdout, raw mode; at most one device
 *   /dev/...         a host terminal device (must be a tty)
 *   tcp=IP:PORT      listen on TCP (IPv6 as tcp=[addr]:port); one client at a time
 *   unix=PATH        listen on a UNIX stream socket (tsbhyve); one client at a time
 *   file=PATH        append output to a file, no input (tsbhyve)
 *   tsvirt-console   served on the control socket (`console` request; tsbhyve); needs
 *                    the device's name (com1..com4), kept in ctx.consoles for the server
 *
 * A pseudo-terminal backend (hyperkit's autopty) needs openpty(3), which Node cannot
 * reach without native code: it is refused with that explanation.
 */
import type { SerialBackend } from '../../lpc/uart/backend.js';
import { ConsoleSocketBackend } from './console-socket.js';
import { FileBackend } from './file.js';
import { SocketServerBackend } from './socket-server.js';
import { StdioBackend } from './stdio.js';
import { TtyDeviceBackend } from './tty-device.js';

export class SerialBackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SerialBackendError';
  }
}

export interface SerialOpenContext {
  /** Set once a device took stdio (shared between all devices of one VM). */
  stdioTaken: boolean;
  /** `tsvirt-console` ports by device name, for the control socket's `console` request. */
  consoles?: Map<string, ConsoleSocketBackend>;
}

/** Parses `IP:PORT` or `[IPv6]:PORT`. */
export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { host: m[1]!, port };
}

/** Opens the backend `spec` for the device called `device` (com1, ...; for messages and consoles). */
export async function openSerialBackend(spec: string, ctx: SerialOpenContext, device?: string): Promise<SerialBackend> {
  const why = (e: unknown) => (e as Error).message;
  if (spec === 'tsvirt-console') {
    if (!device) throw new SerialBackendError('tsvirt-console is available for the LPC COM ports only');
    const consoles = (ctx.consoles ??= new Map());
    if (consoles.has(device)) throw new SerialBackendError(`${device} already has a console`);
    const c = new ConsoleSocketBackend(device);
    consoles.set(device, c);
    return c;
  }
  if (spec === 'stdio') {
    if (ctx.stdioTaken) throw new SerialBackendError('stdio is already used by another device');
    ctx.stdioTaken = true;
    return new StdioBackend();
  }
  if (spec.startsWith('tcp=')) {
    const hp = parseHostPort(spec.slice(4));
    if (!hp) throw new SerialBackendError(`invalid TCP address '${spec.slice(4)}' (expected IP:PORT or [IPv6]:PORT)`);
    try {
      return await SocketServerBackend.listen({ kind: 'tcp', ...hp });
    } catch (e) {
      throw new SerialBackendError(`cannot listen on ${spec.slice(4)}: ${why(e)}`);
    }
  }
  if (spec.startsWith('unix=')) {
    const path = spec.slice(5);
    if (path === '') throw new SerialBackendError('unix= needs a socket path');
    try {
      return await SocketServerBackend.listen({ kind: 'unix', path });
    } catch (e) {
      throw new SerialBackendError(`cannot listen on ${path}: ${why(e)}`);
    }
  }
  if (spec.startsWith('file=')) {
    const path = spec.slice(5);
    try {
      return await FileBackend.open(path);
    } catch (e) {
      throw new SerialBackendError(`cannot open ${path}: ${why(e)}`);
    }
  }
  if (spec === 'pty' || spec.startsWith('autopty')) {
    throw new SerialBackendError(`'${spec}' is not supported: allocating a pseudo-terminal needs openpty(3), unavailable here`);
  }
  if (spec.startsWith('/')) {
    try {
      return TtyDeviceBackend.open(spec);
    } catch (e) {
      throw new SerialBackendError(`cannot use ${spec}: ${why(e)}`);
    }
  }
  throw new SerialBackendError(`unknown serial backend '${spec}'`);
}
