/**
 * Boots a BootSpec the way a user would with tsvirt (issue 10): the domain XML
 * (fixtures/linux/domain.xml) defined with `tsvirsh -c 'bhyve:///embed?root=DIR' define`,
 * then `tsvirsh start --console` on a pseudo-terminal (script(1): like virsh it refuses to
 * run without one), the guest's console read from that terminal, and
 * afterwards `tsvirsh domstate --reason` (a clean guest poweroff is "shut off (shutdown)").
 *
 * Until the stack can run a bzImage the answer is `{ refused }` with tsvirsh's own words:
 * tsvirsh not built, `define` refusing the domain (e.g. an interface type the driver does
 * not translate yet), or `start` failing ("error: Failed to start domain ..."). Nothing is
 * hard-coded: the day `start` succeeds the boot is real and is judged like QEMU's. A
 * domain that starts and then misbehaves is an outcome, not a refusal.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../assets/debian-package.js';
import type { BootSpec } from '../guest/boot-config.js';
import { ConsoleWatcher, parseResultLine, type GuestResult } from '../guest/console.js';
import { renderDomainXml } from './domain.js';

/** The built tsvirsh (run with this node); TSVIRT_TSVIRSH_JS points at another build. */
export const TSVIRSH_JS = process.env.TSVIRT_TSVIRSH_JS ?? join(REPO_ROOT, 'dist', 'cli', 'tsvirsh.js');

export interface TsvirtOutcome {
  console: ConsoleWatcher;
  result: GuestResult | undefined;
  msToResult: number | undefined;
  msToExit: number;
  /** `tsvirsh domstate --reason` after the console closed, e.g. "shut off (shutdown)". */
  state: string;
  exitCode: number | null;
  timedOut: boolean;
  stderr: string;
  /** The last lines of the domain's log (tsbhyve's stderr: exits, RIPs), for diagnosis. */
  log: string;
  /** The embedded root (`bhyve:///embed?root=`); it exists afterwards only with keepRoot. */
  root: string;
}

export interface TsvirtOptions {
  onConsole?: (chunk: string) => void;
  /** tsvirsh to run (default TSVIRSH_JS). */
  tsvirshJs?: string;
  /** Keep the embedded root (for a post-mortem); default: removed. */
  keepRoot?: boolean;
}

export function tsvirsh(uri: string, args: string[], js = TSVIRSH_JS): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [js, '-c', uri, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '').trim() || (r.error?.message ?? '') };
}

function shellQuote(a: string): string {
  return `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * `tsvirsh start --console`, like virsh, needs a controlling terminal: run it under
 * script(1) (util-linux), which gives it a pseudo-terminal and copies its output to our
 * stdout pipe. stdin stays an open pipe we never write to (no escape character is sent).
 */
function spawnWithTty(argv: string[]) {
  return spawn('script', ['-q', '-f', '-e', '-c', argv.map(shellQuote).join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
}

function firstError(stderr: string): string {
  return stderr.split('\n').filter((l) => l.trim()).join(' / ') || '(no message)';
}

/** The last lines of the domain's log under the embedded root (where tsbhyve's stderr goes), if any. */
function logTail(root: string, name: string, n = 3, sep = ' / '): string {
  const found: string[] = [];
  const walk = (d: string, depth: number): void => {
    if (depth > 3 || !existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), depth + 1);
      else if (e.name === `${name}.log`) found.push(join(d, e.name));
    }
  };
  walk(root, 0);
  const lines = found.flatMap((f) => readFileSync(f, 'utf8').split('\n')).filter((l) => l.trim());
  return lines.slice(-n).join(sep);
}

export async function bootTsvirt(spec: BootSpec, opts: TsvirtOptions = {}): Promise<TsvirtOutcome | { refused: string }> {
  const js = opts.tsvirshJs ?? TSVIRSH_JS;
  if (!existsSync(js)) return { refused: `tsvirsh is not built (${js} missing: run npm run build)` };
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-embed-'));
  const uri = `bhyve:///embed?root=${join(dir, 'root')}`;
  const name = `linux-${spec.vcpus}cpu-${process.pid}`;
  try {
    const xmlPath = join(dir, `${name}.xml`);
    writeFileSync(xmlPath, renderDomainXml(spec, name));
    const def = tsvirsh(uri, ['define', xmlPath], js);
    if (def.status !== 0) return { refused: `tsvirsh define refuses the Linux domain: ${firstError(def.stderr)}` };

    const t0 = performance.now();
    const console = new ConsoleWatcher(t0);
    const child = spawnWithTty([process.execPath, js, '-c', uri, 'start', '--console', name]);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      console.push(d);
      opts.onConsole?.(d);
    });
    const exited = new Promise<number | null>((ok) => child.on('close', (code) => ok(code)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      tsvirsh(uri, ['destroy', name], js);
      child.kill('SIGKILL');
    }, spec.timeoutMs);
    // After the kernel's power-down line the console should close on its own; do not let a
    // console that stays open turn a good boot into a timeout.
    let linger: NodeJS.Timeout | undefined;
    void console.waitFor(/reboot: Power down/).then(() => {
      if (child.exitCode === null) linger = setTimeout(() => child.kill('SIGTERM'), 30_000);
    });
    const code = await exited;
    clearTimeout(timer);
    clearTimeout(linger);
    const msToExit = performance.now() - t0;
    console.end();
    // On the pseudo-terminal tsvirsh's stderr arrives with the console output.
    const errors = `${stderr}\n${console.lines.filter((l) => /^error: /.test(l)).join('\n')}`;
    if (code !== 0 && /Failed to start domain/.test(errors) && console.at.kernelBanner === undefined) {
      const log = logTail(join(dir, 'root'), name);
      return { refused: `tsvirsh start cannot run the bzImage yet: ${firstError(errors)}${log ? ` (domain log: ${log})` : ''}` };
    }
    let state = '';
    for (let i = 0; i < 60; i++) {
      const st = tsvirsh(uri, ['domstate', '--reason', name], js);
      state = st.status === 0 ? st.stdout.trim() : `domstate failed: ${firstError(st.stderr)}`;
      if (!/^(running|in shutdown)/.test(state)) break;
      await sleep(500);
    }
    const line = console.resultLine;
    return {
      console,
      result: line === undefined ? undefined : parseResultLine(line),
      msToResult: console.at.result,
      msToExit,
      state,
      exitCode: code,
      timedOut,
      stderr: errors.trim(),
      log: logTail(join(dir, 'root'), name, 30, '\n'),
      root: join(dir, 'root'),
    };
  } finally {
    tsvirsh(uri, ['destroy', name], js);
    tsvirsh(uri, ['undefine', name], js);
    if (!opts.keepRoot) rmSync(dir, { recursive: true, force: true });
  }
}
