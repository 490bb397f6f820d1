/** Running tsvirsh (and real virsh, for comparisons) as a user would: a child process. */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Result {
  stdout: string;
  stderr: string;
  status: number;
}

export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ stdout, stderr, status });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/** Real virsh from Debian's libvirt-clients, if installed. */
export const VIRSH = ['/usr/bin/virsh'].find((p) => existsSync(p));

export function virsh(args: string[]): Promise<Result> {
  return run(VIRSH!, ['-c', 'test:///default', ...args], { env: { ...process.env, LANG: 'C', LC_ALL: 'C' } });
}

/** Start a long-running process (event --loop) and collect its output. */
export function start(cmd: string, args: string[], env?: NodeJS.ProcessEnv) {
  const child = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (b) => (out.stdout += b));
  child.stderr.on('data', (b) => (out.stderr += b));
  const exited = new Promise<number>((r) => child.once('exit', (c, s) => r(c ?? (s ? 128 : 1))));
  return { child, out, exited };
}

/**
 * Run a program on a pseudo-terminal (python3's pty module), send `steps` of input after
 * waiting for text to appear, and return everything the terminal showed.
 */
export function onPty(argv: string[], steps: Array<{ wait: string; send: string }>, env?: NodeJS.ProcessEnv, timeoutS = 30): Promise<Result> {
  const script = `
import os, pty, sys, json, select, time
argv = json.loads(sys.argv[1]); steps = json.loads(sys.argv[2]); timeout = float(sys.argv[3])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out = b''
deadline = time.time() + timeout
def pump(until):
    global out
    while time.time() < deadline:
        if until is not None and until.encode() in out:
            return True
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                return False
            if not d:
                return False
            out += d
    return False
for s in steps:
    if not pump(s['wait']):
        break
    os.write(fd, s['send'].encode('latin1'))
end = time.time() + 10
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        out += d
    p, status = os.waitpid(pid, os.WNOHANG)
    if p:
        break
else:
    os.kill(pid, 9)
    p, status = os.waitpid(pid, 0)
try:
    while True:
        r, _, _ = select.select([fd], [], [], 0.05)
        if not r: break
        d = os.read(fd, 4096)
        if not d: break
        out += d
except OSError:
    pass
sys.stdout.write(out.decode('latin1'))
sys.exit(os.waitstatus_to_exitcode(status) if status else 0)
`;
  return run('/usr/bin/python3', ['-c', script, JSON.stringify(argv), JSON.stringify(steps), String(timeoutS)], { env, timeoutMs: (timeoutS + 20) * 1000 });
}
