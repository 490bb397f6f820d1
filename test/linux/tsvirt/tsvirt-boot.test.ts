/**
 * The tsvirt runner (tsvirt-boot.ts) in isolation: a scripted stand-in for the tsvirsh
 * CLI (a small node script written by the test, behaviour chosen per case) checks that
 * the runner tells a refusal (define or start failing, with the domain log's last lines)
 * from a boot that ran, reads the console stream and the state afterwards, and cleans up.
 * The real CLI is exercised by test/linux/tsvirt-boot.test.ts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BootSpec } from '../guest/boot-config.js';
import { bootTsvirt } from './tsvirt-boot.js';

const work = mkdtempSync(join(tmpdir(), 'tsvirt-runner-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Writes a stand-in tsvirsh: `-c URI cmd args`; per-command behaviour from `script`. */
function standIn(name: string, script: string): string {
  const js = join(work, `${name}.mjs`);
  writeFileSync(
    js,
    `import { appendFileSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
const [, , , uri, cmd, ...args] = process.argv;
const root = new URL(uri.replace('bhyve:///embed', 'file:///x')).searchParams.get('root');
mkdirSync(join(root, 'log'), { recursive: true });
appendFileSync(join(root, 'calls'), cmd + ' ' + args.join(' ') + '\\n');
const dom = args[args.length - 1];
${script}
`,
  );
  return js;
}

const spec: BootSpec = { kernel: '/k', initrd: '/i', disk: '/d', vcpus: 1, memoryMiB: 256, cmdline: 'console=ttyS0', peerPort: 1, timeoutMs: 20_000 };

describe('bootTsvirt', () => {
  it('reports a define refusal in tsvirsh words', async () => {
    const js = standIn('def', `if (cmd === 'define') { console.error("error: unsupported configuration: Network type 'udp' is not supported"); process.exit(1); }`);
    expect(await bootTsvirt(spec, { tsvirshJs: js })).toEqual({ refused: "tsvirsh define refuses the Linux domain: error: unsupported configuration: Network type 'udp' is not supported" });
  });

  it('reports a start refusal with the last lines of the domain log', async () => {
    const js = standIn(
      'start',
      `if (cmd === 'start') {
  writeFileSync(join(root, 'log', dom + '.log'), 'starting up\\ntsbhyve: cannot run VM: no vmm backend is available in this build\\n');
  console.error("error: Failed to start domain '" + dom + "'\\nerror: internal error: VM process exited during startup (exit status 4)");
  process.exit(1);
}`,
    );
    const o = await bootTsvirt(spec, { tsvirshJs: js });
    expect(o).toEqual({
      refused: expect.stringMatching(
        /^tsvirsh start cannot run the bzImage yet: error: Failed to start domain 'linux-1cpu-\d+' \/ error: internal error: VM process exited during startup \(exit status 4\) \(domain log: starting up \/ tsbhyve: cannot run VM: no vmm backend is available in this build\)$/,
      ),
    });
  });

  it('reads the console of a boot and the shutoff reason afterwards, then undefines', async () => {
    const js = standIn(
      'boot',
      `if (cmd === 'start') {
  process.stdout.write('[    0.000000] Linux version 6.1.0-56-amd64\\r\\n');
  setTimeout(() => { process.stdout.write('TSVIRT-RESULT modules=ok disk=ok net=ok rng=ok cpus=1\\r\\n[ 9.0] reboot: Power down\\r\\n'); writeFileSync(join(root, 'state'), 'shut off (shutdown)'); }, 100);
} else if (cmd === 'domstate') {
  console.log(existsSync(join(root, 'state')) ? readFileSync(join(root, 'state'), 'utf8') : 'running (booted)');
}`,
    );
    const o = await bootTsvirt(spec, { tsvirshJs: js });
    if ('refused' in o) throw new Error(o.refused);
    expect(existsSync(o.root)).toBe(false);
    expect(o.result).toEqual({ modules: 'ok', disk: 'ok', net: 'ok', rng: 'ok', cpus: 1 });
    expect(o.state).toBe('shut off (shutdown)');
    expect(o.exitCode).toBe(0);
    expect(o.timedOut).toBe(false);
    expect(o.msToResult).toBeGreaterThan(50);
    expect(o.console.at.powerDown).toBeDefined();
  });

  it('treats a domain that started and died as an outcome, not a refusal', async () => {
    const js = standIn(
      'crash',
      `if (cmd === 'start') { process.stdout.write('[    0.000000] Linux version 6.1.0\\n'); writeFileSync(join(root, 'log', dom + '.log'), 'vcpu 0: triple fault at RIP=0xffffffff81001234\\n'); }
else if (cmd === 'domstate') console.log('shut off (crashed)');`,
    );
    const o = await bootTsvirt(spec, { tsvirshJs: js });
    if ('refused' in o) throw new Error(o.refused);
    expect(o.result).toBeUndefined();
    expect(o.state).toBe('shut off (crashed)');
    expect(o.log).toContain('triple fault at RIP=0xffffffff81001234');
  });

  it('stops a boot that exceeds its budget', async () => {
    const js = standIn('hang', `if (cmd === 'start') { process.stdout.write('[ 0.0] Linux version 6.1\\n'); setInterval(() => {}, 1000); } else if (cmd === 'domstate') console.log('shut off (destroyed)');`);
    const t0 = performance.now();
    const o = await bootTsvirt({ ...spec, timeoutMs: 1500 }, { tsvirshJs: js });
    if ('refused' in o) throw new Error(o.refused);
    expect(o.timedOut).toBe(true);
    expect(performance.now() - t0).toBeLessThan(15_000);
  });

  it('calls define, start --console, domstate, destroy and undefine on one embedded root', async () => {
    const js = standIn('calls', `if (cmd === 'domstate') console.log('shut off (shutdown)');`);
    const o = await bootTsvirt(spec, { tsvirshJs: js, keepRoot: true });
    if ('refused' in o) throw new Error(o.refused);
    try {
      expect(readFileSync(join(o.root, 'calls'), 'utf8')).toMatch(
        /^define .*\.xml\nstart --console (linux-1cpu-\d+)\ndomstate --reason \1\ndestroy \1\nundefine \1\n$/,
      );
    } finally {
      rmSync(join(o.root, '..'), { recursive: true, force: true });
    }
  });
});
