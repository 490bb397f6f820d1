/**
 * TEST SCAFFOLDING — not tsbhyve, never shipped, never run outside the test suite.
 *
 * A stand-in for the VM process whose behaviour the driver's supervision tests control. It
 * honours the parts of tsbhyve's contract the lifecycle code depends on, so supervision can
 * be tested with real processes before tsbhyve runs guests:
 *   - command line `-k FILE [-o key=value]... [vmname]`, config file of `key=value` lines;
 *   - exit statuses of bhyve(8): 0 reset, 1 poweroff, 2 halt, 3 triple fault, 4 error;
 *   - the control socket of docs/control-socket.md (greeting, query-status, shutdown,
 *     pause, resume, console with replay/force), at `tsvirt.control.path`;
 *   - SIGTERM = ACPI power button when "ACPI is enabled", else death by SIGTERM.
 * Its "guest" prints a boot banner on com1 and obeys lines typed on com1: `poweroff`,
 * `reboot`, `halt`, `crash` (exit 3), `error` (exit 4), anything else is echoed.
 *
 * Test knobs (config keys, never read by tsbhyve): `x-standin.fail=N` exit N at startup;
 * `x-standin.no_control=true` no control socket; `x-standin.acpi=false` guest never
 * enables ACPI; `x-standin.ready_delay_ms=N`; `x-standin.exit_after_ms=N` and
 * `x-standin.exit_status=S` to exit by itself; `x-standin.ignore_shutdown=true`.
 * Control commands `x-exit {status}` and `x-crash` make the "guest" exit on request.
 */

import { readFileSync, rmSync, chmodSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';

const cfg = new Map<string, string>();
let vmName = '';
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === '-k') {
    const text = readFileSync(argv[++i]!, 'utf8');
    for (const line of text.split('\n')) {
      const t = line.trim();
      if (!t || t.startsWith('#')) continue;
      const eq = t.indexOf('=');
      if (eq > 0) cfg.set(t.slice(0, eq), t.slice(eq + 1));
    }
  } else if (a === '-o') {
    const kv = argv[++i]!;
    const eq = kv.indexOf('=');
    cfg.set(kv.slice(0, eq), kv.slice(eq + 1));
  } else if (!a.startsWith('-')) {
    vmName = a;
  }
}
const name = cfg.get('name') ?? vmName;
const flag = (k: string) => cfg.get(k) === 'true';
const num = (k: string) => (cfg.has(k) ? Number(cfg.get(k)) : undefined);

console.log(`vm-stand-in (test scaffolding) for '${name}' pid ${process.pid}`);

const fail = num('x-standin.fail');
if (fail !== undefined) {
  console.error(`vm-stand-in: failing at startup with status ${fail} as configured`);
  process.exit(fail);
}

let state: 'running' | 'paused' = flag('tsvirt.control.start_paused') ? 'paused' : 'running';
const acpi = cfg.get('x-standin.acpi') !== 'false';
const ring: Buffer[] = [];
let ringBytes = 0;
let consoleClient: Socket | undefined;
let lineBuf = '';
const controlPath = cfg.get('tsvirt.control.path');

function exitVm(status: number, why: string): void {
  console.log(`vm-stand-in: exiting with status ${status} (${why})`);
  if (controlPath) rmSync(controlPath, { force: true });
  process.exit(status);
}

/** Guest output on com1: to the attached console, else into the 64 KiB ring. */
function guestOut(s: string): void {
  const b = Buffer.from(s);
  if (consoleClient) consoleClient.write(b);
  ring.push(b);
  ringBytes += b.length;
  while (ringBytes > 65536 && ring.length > 1) ringBytes -= ring.shift()!.length;
}

/** Guest input on com1. */
function guestIn(b: Buffer): void {
  if (state === 'paused') return;
  for (const ch of b.toString('latin1')) {
    if (ch === '\r' || ch === '\n') {
      const cmd = lineBuf.trim();
      lineBuf = '';
      guestOut('\r\n');
      if (cmd === 'poweroff') exitVm(1, 'guest poweroff');
      else if (cmd === 'reboot') exitVm(0, 'guest reset');
      else if (cmd === 'halt') exitVm(2, 'guest halt');
      else if (cmd === 'crash') exitVm(3, 'guest triple fault');
      else if (cmd === 'error') exitVm(4, 'emulator error');
      else if (cmd) guestOut(`stand-in guest: unknown command '${cmd}'\r\n`);
    } else {
      lineBuf += ch;
      guestOut(ch);
    }
  }
}

function powerButton(): boolean {
  if (!acpi) return false;
  if (flag('x-standin.ignore_shutdown')) return true;
  const delay = num('x-standin.shutdown_delay_ms') ?? 20;
  setTimeout(() => {
    if (state === 'running') exitVm(1, 'ACPI power button → guest poweroff');
    else {
      // A paused guest acts on the button once resumed.
      const t = setInterval(() => {
        if (state === 'running') {
          clearInterval(t);
          exitVm(1, 'ACPI power button → guest poweroff');
        }
      }, 10);
    }
  }, delay);
  return true;
}

process.on('SIGTERM', () => {
  if (!powerButton()) {
    process.removeAllListeners('SIGTERM');
    process.kill(process.pid, 'SIGTERM');
  }
});

function serve(sock: Socket): void {
  sock.write(`${JSON.stringify({ 'tsvirt-control': 1, vm: name, pid: process.pid, state })}\n`);
  let buf = '';
  let raw = false;
  const reply = (o: Record<string, unknown>) => sock.write(`${JSON.stringify(o)}\n`);
  sock.on('error', () => undefined);
  sock.on('data', (chunk: Buffer) => {
    if (raw) return guestIn(chunk);
    buf += chunk.toString('utf8');
    let nl: number;
    while (!raw && (nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let req: Record<string, unknown>;
      try {
        req = JSON.parse(line) as Record<string, unknown>;
      } catch {
        reply({ id: null, ok: false, error: { code: 'bad-request', message: 'not JSON' } });
        sock.end();
        return;
      }
      const id = req.id;
      switch (req.cmd) {
        case 'query-status':
          reply({ id, ok: true, state, vcpus: 1, acpi });
          break;
        case 'shutdown':
          reply({ id, ok: true, acpi: powerButton() });
          break;
        case 'pause':
          state = 'paused';
          reply({ id, ok: true, state });
          break;
        case 'resume':
          state = 'running';
          reply({ id, ok: true, state });
          break;
        case 'console': {
          if (req.dev !== 'com1') {
            reply({ id, ok: false, error: { code: 'invalid-state', message: `${String(req.dev)} is not attachable` } });
            break;
          }
          if (consoleClient && !req.force) {
            reply({ id, ok: false, error: { code: 'busy', message: 'console already attached' } });
            break;
          }
          consoleClient?.destroy();
          reply({ id, ok: true });
          raw = true;
          consoleClient = sock;
          sock.on('close', () => {
            if (consoleClient === sock) consoleClient = undefined;
          });
          if (req.replay) for (const b of ring) sock.write(b);
          if (buf) guestIn(Buffer.from(buf));
          buf = '';
          break;
        }
        case 'x-exit':
          reply({ id, ok: true });
          setTimeout(() => exitVm(Number(req.status), 'x-exit'), 5);
          break;
        default:
          reply({ id, ok: false, error: { code: 'unknown-command', message: `unknown command '${String(req.cmd)}'` } });
      }
    }
  });
}

function boot(): void {
  guestOut(`stand-in guest '${name}' booted\r\n`);
  const after = num('x-standin.exit_after_ms');
  if (after !== undefined) setTimeout(() => exitVm(num('x-standin.exit_status') ?? 1, 'configured exit'), after);
}

setTimeout(() => {
  if (controlPath && !flag('x-standin.no_control')) {
    rmSync(controlPath, { force: true });
    const server = createServer(serve);
    server.listen(controlPath, () => {
      chmodSync(controlPath, 0o600);
      boot();
    });
  } else {
    boot();
  }
}, num('x-standin.ready_delay_ms') ?? 0);

// Keep running like a VM until told otherwise.
setInterval(() => undefined, 1 << 30);
