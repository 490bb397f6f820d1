#!/usr/bin/env node
/**
 * `tsvirtd`: the tsvirt daemon. Serves libvirt's remote protocol on `<socket-dir>/tsvirt-sock`
 * (read-write) and `<socket-dir>/tsvirt-sock-ro` (read-only) so that `virsh -c
 * 'bhyve+unix:///system?socket=<socket-dir>/tsvirt-sock'` and python3-libvirt work against
 * it, and with `--dbus ADDRESS` the org.libvirt D-Bus API.
 *
 * Drivers: `--driver bhyve` (the default) is the bhyve driver of src/driver — the same
 * `BhyveDriver` embedded tsvirsh opens — with its state root in `--state-dir`; it serves
 * `bhyve:///system` (as root) or `bhyve:///session` (otherwise; `--instance` chooses),
 * re-attaches to running guests when it opens and re-checks them every 5 seconds.
 * `--driver test` serves the in-memory TEST driver (no guests run) for testing clients
 * against the protocol. The VM program is tsbhyve, or TSVIRT_TSBHYVE when set.
 *
 * Modes: `--foreground` runs in this process, logging JSON lines to stderr; without it the
 * daemon re-executes itself detached (log in `<state-dir>/tsvirtd.log`) and the parent exits
 * once the sockets are listening. SIGTERM/SIGINT stop cleanly: listeners closed, clients
 * disconnected, socket files and pidfile removed, guests left running.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { defaultDaemonSocket } from '../driver/uri.js';
import { createLogger, type LogLevel } from '../rpc/log.js';
import { RpcServer } from '../rpc/server/server.js';
import { TestDriver } from '../rpc/test-driver.js';
import type { DriverApi } from '../rpc/driver-api.js';
import { BhyveDriver } from '../driver/driver.js';
import { loadTranslator } from '../driver/translator.js';

interface Opts {
  foreground?: boolean;
  socketDir: string;
  stateDir: string;
  driver: 'bhyve' | 'test';
  instance: 'system' | 'session';
  dbus?: string;
  logLevel: LogLevel;
  logFormat: 'json' | 'text';
  rwPerms: number;
  roPerms: number;
  keepaliveInterval: number;
  keepaliveCount: number;
}

/** The instance a daemon serves unless told: system for root, session otherwise (libvirt's rule). */
function defaultInstance(): 'system' | 'session' {
  return (process.geteuid?.() ?? 0) === 0 ? 'system' : 'session';
}

/**
 * Default directories of an instance, as libvirt lays them out: /run/tsvirt and
 * /var/lib/tsvirt for the system instance; for the session instance the socket directory
 * tsvirsh probes for bhyve:///session (driver/uri.ts defaultDaemonSocket:
 * $XDG_RUNTIME_DIR/tsvirt) and $XDG_DATA_HOME/tsvirt for state.
 */
function defaultDirs(instance: 'system' | 'session'): { socketDir: string; stateDir: string } {
  if (instance === 'system') return { socketDir: '/run/tsvirt', stateDir: '/var/lib/tsvirt' };
  const data = process.env.XDG_DATA_HOME ?? join(process.env.HOME ?? '/tmp', '.local', 'share');
  return { socketDir: dirname(defaultDaemonSocket('session')), stateDir: join(data, 'tsvirt') };
}

function octal(v: string): number {
  if (!/^0?[0-7]{3}$/.test(v)) throw new InvalidArgumentError('expected an octal mode such as 0600');
  return parseInt(v, 8);
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

async function startDbus(address: string, driver: DriverApi, log: ReturnType<typeof createLogger>): Promise<{ stop(): Promise<void> }> {
  const { startDbusService } = await import('../dbus/service.js');
  return startDbusService({ address, driver, log });
}

async function main(): Promise<void> {
  const instance = defaultInstance();
  const program = new Command('tsvirtd')
    .description('tsvirt daemon: libvirt remote protocol and org.libvirt D-Bus API on local sockets')
    .option('-f, --foreground', 'run in the foreground (default: detach)')
    .option('--socket-dir <dir>', 'directory of tsvirt-sock and tsvirt-sock-ro (default: /run/tsvirt for system, $XDG_RUNTIME_DIR/tsvirt for session)')
    .option('--state-dir <dir>', 'directory of the driver state, pidfile and log (default: /var/lib/tsvirt for system, $XDG_DATA_HOME/tsvirt for session)')
    .addOption(new Option('--driver <name>', 'hypervisor driver').choices(['bhyve', 'test']).default('bhyve'))
    .addOption(
      new Option('--instance <name>', 'which bhyve URI is served: bhyve:///system or bhyve:///session')
        .choices(['system', 'session'])
        .default(instance, instance === 'system' ? 'system when run as root' : 'session when not run as root, system with --socket-dir'),
    )
    .option('--dbus <address>', "also serve org.libvirt on this D-Bus address ('session', 'system' or an address)")
    .addOption(new Option('--log-level <level>', 'lowest level logged').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .addOption(new Option('--log-format <format>', 'log line format').choices(['json', 'text']).default('json'))
    .addOption(new Option('--rw-perms <mode>', 'mode of the read-write socket').argParser(octal).default(0o600, '0600'))
    .addOption(new Option('--ro-perms <mode>', 'mode of the read-only socket').argParser(octal).default(0o666, '0666'))
    .option('--keepalive-interval <seconds>', 'seconds of client silence before a keepalive ping (0: off)', positiveInt, 5)
    .option('--keepalive-count <n>', 'unanswered pings before a client is dropped', positiveInt, 5)
    .showHelpAfterError();
  program.parse();
  const given = program.opts<Omit<Opts, 'socketDir' | 'stateDir'> & { socketDir?: string; stateDir?: string }>();
  // A daemon on sockets of its own (tests, private setups) serves bhyve:///system, the one URI
  // libvirt's bhyve driver knows, unless told otherwise: `virsh -c
  // 'bhyve+unix:///system?socket=DIR/tsvirt-sock'` then works for any user.
  if (given.socketDir !== undefined && program.getOptionValueSource('instance') === 'default') given.instance = 'system';
  const dirs = defaultDirs(given.instance);
  const opts: Opts = { ...given, socketDir: given.socketDir ?? dirs.socketDir, stateDir: given.stateDir ?? dirs.stateDir };

  if (!opts.foreground) {
    detach(opts);
    return;
  }

  // A log reader that went away (closed pipe) must not take the daemon down with it.
  process.stderr.on('error', () => {});
  const log = createLogger({ level: opts.logLevel, format: opts.logFormat });
  mkdirSync(opts.stateDir, { recursive: true, mode: 0o755 });
  let driver: DriverApi;
  try {
    driver = await openDriver(opts, log);
  } catch (e) {
    log.log('error', 'cannot open the driver', { driver: opts.driver, stateDir: opts.stateDir, error: (e as Error).message });
    process.exitCode = 1;
    return;
  }
  const pidfile = join(opts.stateDir, 'tsvirtd.pid');

  let server: RpcServer;
  try {
    server = await RpcServer.start({
      driver,
      socketDir: opts.socketDir,
      log,
      rwMode: opts.rwPerms,
      roMode: opts.roPerms,
      limits: { keepaliveIntervalMs: opts.keepaliveInterval * 1000, keepaliveCount: opts.keepaliveCount },
    });
  } catch (e) {
    log.log('error', 'cannot listen', { error: (e as Error).message });
    await driver.close?.();
    process.exitCode = 1;
    return;
  }
  let dbus: { stop(): Promise<void> } | null = null;
  if (opts.dbus) {
    try {
      dbus = await startDbus(opts.dbus, driver, log);
    } catch (e) {
      log.log('error', 'cannot serve D-Bus', { address: opts.dbus, error: (e as Error).message });
      await server.stop();
      await driver.close?.();
      process.exitCode = 1;
      return;
    }
  }
  writeFileSync(pidfile, `${process.pid}\n`);
  log.log('info', 'ready', { pid: process.pid, socketDir: opts.socketDir, stateDir: opts.stateDir });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log('info', 'shutting down', { signal });
    // Shutdown must end even if a peer (the D-Bus daemon, a client) no longer answers.
    setTimeout(() => {
      log.log('error', 'shutdown did not finish in time: exiting', {});
      process.exit(1);
    }, 10_000).unref();
    void (async () => {
      await dbus?.stop().catch((e: Error) => log.log('warn', 'D-Bus stop failed', { error: e.message }));
      await server.stop();
      await driver.close?.();
      rmSync(pidfile, { force: true });
      log.log('info', 'exit', {});
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * The driver served: the bhyve driver on the state directory (its root: config/, run/,
 * log/, autostart/ beside the daemon's pidfile and log), or the TEST driver.
 */
async function openDriver(opts: Opts, log: ReturnType<typeof createLogger>): Promise<DriverApi> {
  if (opts.driver === 'test') {
    const driver = new TestDriver();
    log.log('warn', 'serving the in-memory TEST driver: no guests run', { driver: driver.type });
    return driver;
  }
  const root = resolve(opts.stateDir);
  const driver = await BhyveDriver.open({
    root,
    uri: `bhyve:///${opts.instance}`,
    translator: await loadTranslator(root),
    reconcileEveryMs: 5000,
    onProblem: (p) => log.log('warn', 'state problem', { path: p.path, problem: p.message }),
  });
  log.log('info', 'bhyve driver open', { uri: driver.uri, root });
  return driver;
}

/** Re-executes this program detached with --foreground, logging to <state-dir>/tsvirtd.log. */
function detach(opts: Opts): void {
  mkdirSync(opts.stateDir, { recursive: true, mode: 0o755 });
  const logPath = join(opts.stateDir, 'tsvirtd.log');
  const fd = openSync(logPath, 'a', 0o600);
  const self = fileURLToPath(import.meta.url);
  const userArgs = process.argv.slice(2);
  // Built: node <this .js>. From source under a TypeScript runner (tests): that runner again.
  const args = self.endsWith('.ts')
    ? [process.argv[1] as string, self, '--', ...userArgs, '--foreground']
    : [...process.execArgv, self, ...userArgs, '--foreground'];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd] });
  const sock = join(opts.socketDir, 'tsvirt-sock');
  const deadline = Date.now() + 10_000;
  const poll = setInterval(() => {
    if (existsSync(join(opts.stateDir, 'tsvirtd.pid')) && existsSync(sock)) {
      clearInterval(poll);
      child.unref();
      process.stdout.write(`tsvirtd: started, pid ${child.pid}, log ${logPath}\n`);
    } else if (child.exitCode !== null || Date.now() > deadline) {
      clearInterval(poll);
      process.stderr.write(`tsvirtd: daemon failed to start; see ${logPath}\n`);
      process.exitCode = 1;
    }
  }, 50);
}

main().catch((e: unknown) => {
  process.stderr.write(`tsvirtd: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
