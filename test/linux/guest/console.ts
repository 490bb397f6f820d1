/**
 * Reading the guest's serial console as it arrives, for both stacks: lines, the
 * milestones of a boot with their times (first byte, the kernel banner, /init starting,
 * the result line, the kernel's power-down message), the result line parsed, and a
 * diagnosis of where a failed boot stopped (panic or oops line, RIP, last lines) —
 * issue 10 asks for the last console line and RIP, not just "it hung".
 *
 * The result line is the one /init (fixtures/linux/init) prints:
 *   TSVIRT-RESULT modules=ok disk=ok net=ok rng=ok cpus=N
 */

export type Verdict = 'ok' | 'fail';

export interface GuestResult {
  modules: Verdict;
  disk: Verdict;
  net: Verdict;
  rng: Verdict;
  cpus: number;
}

export const RESULT_PREFIX = 'TSVIRT-RESULT ';

export function parseResultLine(line: string): GuestResult | undefined {
  const i = line.indexOf(RESULT_PREFIX);
  if (i < 0) return undefined;
  const kv = new Map(
    line
      .slice(i + RESULT_PREFIX.length)
      .trim()
      .split(/\s+/)
      .map((t) => t.split('=', 2) as [string, string]),
  );
  const v = (k: string): Verdict | undefined => (kv.get(k) === 'ok' ? 'ok' : kv.get(k) === 'fail' ? 'fail' : undefined);
  const cpus = Number(kv.get('cpus'));
  const [modules, disk, net, rng] = [v('modules'), v('disk'), v('net'), v('rng')];
  if (!modules || !disk || !net || !rng || !Number.isInteger(cpus)) return undefined;
  return { modules, disk, net, rng, cpus };
}

/** Boot milestones, in the order a good boot reaches them. */
export const MILESTONES = {
  firstByte: /./,
  kernelBanner: /Linux version \d/,
  initramfsUnpacked: /Freeing initrd memory|Trying to unpack rootfs/,
  runInit: /Run \/init as init process/,
  initStart: /tsvirt-init: \[[\d.]+\] start/,
  result: /TSVIRT-RESULT /,
  powerDown: /reboot: Power down/,
} as const;

export type Milestone = keyof typeof MILESTONES;

export class ConsoleWatcher {
  private text = '';
  private partial = '';
  readonly lines: string[] = [];
  /** Milliseconds since `t0` at which each milestone's first line arrived. */
  readonly at: Partial<Record<Milestone, number>> = {};
  resultLine: string | undefined;
  private waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];

  constructor(private readonly t0: number = performance.now()) {}

  get output(): string {
    return this.text;
  }

  push(chunk: string): void {
    if (chunk.length === 0) return;
    const now = performance.now() - this.t0;
    if (this.at.firstByte === undefined) this.at.firstByte = now;
    this.text += chunk;
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop()!;
    for (const raw of parts) this.line(raw.replace(/\r$/, ''), now);
  }

  /** Flushes a last line without newline (at process exit). */
  end(): void {
    if (this.partial) this.line(this.partial.replace(/\r$/, ''), performance.now() - this.t0);
    this.partial = '';
  }

  private line(l: string, now: number): void {
    this.lines.push(l);
    for (const [k, re] of Object.entries(MILESTONES) as [Milestone, RegExp][]) {
      if (k !== 'firstByte' && this.at[k] === undefined && re.test(l)) this.at[k] = now;
    }
    if (this.resultLine === undefined && l.includes(RESULT_PREFIX)) this.resultLine = l.slice(l.indexOf(RESULT_PREFIX));
    this.waiters = this.waiters.filter((w) => {
      if (!w.re.test(l)) return true;
      w.resolve(l);
      return false;
    });
  }

  /** Resolves with the first line (from now on) matching re. */
  waitFor(re: RegExp): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ re, resolve }));
  }

  /** Where a boot that did not reach the result line stopped. */
  diagnosis(tail = 25): string {
    const lines = this.partial ? [...this.lines, this.partial] : this.lines;
    const panic = lines.find((l) => /Kernel panic|BUG:|Oops|general protection fault|double fault|invalid opcode/.test(l));
    const rip = lines.filter((l) => /\bRIP: [0-9a-f]{4}:/.test(l)).pop();
    const reached = (Object.keys(MILESTONES) as Milestone[]).filter((k) => this.at[k] !== undefined);
    const out = [
      `milestones reached: ${reached.length ? reached.map((k) => `${k}@${(this.at[k]! / 1000).toFixed(1)}s`).join(' ') : 'none (no console output)'}`,
    ];
    if (panic) out.push(`first fault line: ${panic.trim()}`);
    if (rip) out.push(`last RIP line: ${rip.trim()}`);
    out.push(`last console lines:\n${lines.slice(-tail).map((l) => `  | ${l}`).join('\n')}`);
    return out.join('\n');
  }
}
