import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/emulator/config/legacy-argv.js';
import { readPlatformConfig } from '../../src/emulator/config/platform.js';
import { ConfigError } from '../../src/emulator/config/errors.js';
import { RecordingIrq } from '../../src/emulator/irq/lines.js';
import { CollectingLogger } from '../../src/emulator/log.js';
import { Machine } from '../../src/emulator/machine.js';
import { REPO_ROOT } from './helpers/build-cli.js';

let dir: string;
let elf: string;
let disk: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'machine-'));
  execFileSync('as', ['--32', join(REPO_ROOT, 'fixtures/emulator/multiboot/hello.S'), '-o', join(dir, 'hello.o')]);
  execFileSync('ld', ['-m', 'elf_i386', '-Ttext=0x100000', '-e', '_start', join(dir, 'hello.o'), '-o', join(dir, 'hello.elf')]);
  elf = join(dir, 'hello.elf');
  disk = join(dir, 'vm0.img');
  writeFileSync(disk, Buffer.alloc(1 << 20));
});

async function machine(args: string[]) {
  const out = parseCommandLine(args);
  if (out.kind !== 'config') throw new Error(out.kind);
  const p = readPlatformConfig(out.tree);
  const irq = new RecordingIrq();
  const log = new CollectingLogger();
  const m = await Machine.build(out.tree, p, { memory: new ArrayBuffer(p.memSize), irq, ioapicPins: 32, hpetCapabilities: 0x8086a701 }, { log, fwcfgFiles: out.fwcfgFiles });
  const cfg = (bus: number, slot: number, func: number, reg: number) => {
    m.handleExit({ kind: 'inout', port: 0xcf8, size: 4, direction: 'out', value: (0x80000000 | (bus << 16) | (slot << 11) | (func << 8) | reg) >>> 0 });
    const r = m.handleExit({ kind: 'inout', port: 0xcfc, size: 4, direction: 'in', value: 0 });
    return r.action === 'continue' ? Number(r.value) : -1;
  };
  return { m, irq, log, cfg, tree: out.tree };
}

describe('machine assembly from bhyve command lines', () => {
  it('builds the section 2.5 machine (with a UDP NIC) and a guest can enumerate it', async () => {
    const { m, cfg } = await machine(
      `-c 2 -m 256 -A -H -P -s 0:0,hostbridge -s 1:0,virtio-net,udp:127.0.0.1:9,local=127.0.0.1:0 -s 2:0,ahci-hd,${disk} -s 31,lpc -l com1,tcp=127.0.0.1:0 -f multiboot,${elf} vm0`.split(' '),
    );
    expect(cfg(0, 0, 0, 0)).toBe(0x12751275);
    expect(cfg(0, 1, 0, 0)).toBe(0x10001af4);
    expect(cfg(0, 2, 0, 0)).toBe(0x28218086);
    expect(cfg(0, 31, 0, 0)).toBe(0x70008086);
    expect(cfg(0, 3, 0, 0)).toBe(0xffffffff);
    expect(cfg(0, 1, 0, 0x3c) & 0xff).not.toBe(0xff); // INTx routed
    // firmware tables in guest memory
    const s = (a: number, n: number) => Buffer.from(m.memory.readBytes(a, n)).toString('latin1');
    expect(s(0xf0000, 4)).toBe('_MP_');
    expect(s(0xf1000, 4)).toBe('_SM_');
    expect(s(0xf2400, 8)).toBe('RSD PTR ');
    expect(m.boot.kind).toBe('kernel');
    expect(m.boot.state.regs.rax).toBe(0x2badb002);
    expect(m.memory.read32(0x100000)).toBe(0x1badb002);
    await m.close();
  });

  it('sends COM1 output to its backend and exits through pc-testdev like the contract says', async () => {
    const { m } = await machine(['-m', '64M', '-s', '0,hostbridge', '-s', '31,lpc', '-l', 'com1,unix=' + join(dir, 'com1.sock'), '-l', 'pc-testdev', '-f', `multiboot,${elf}`, 'vm0']);
    let got = '';
    const client = connect(join(dir, 'com1.sock'));
    client.on('data', (d) => (got += d));
    await new Promise((r) => client.once('connect', r));
    await new Promise((r) => setTimeout(r, 20));
    for (const c of 'MB OK\n') m.handleExit({ kind: 'inout', port: 0x3f8, size: 1, direction: 'out', value: c.charCodeAt(0) });
    const out = m.handleExit({ kind: 'inout', port: 0xf4, size: 1, direction: 'out', value: 0 });
    expect(out).toEqual({ action: 'stop', status: 1, reason: 'isa-debug-exit 0' });
    await m.close();
    const t0 = Date.now();
    while (got !== 'MB OK\n' && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
    expect(got).toBe('MB OK\n');
    client.destroy();
  });

  it('powers off through ACPI and resets through 0xCF9', async () => {
    const { m } = await machine(['-s', '0,hostbridge', '-s', '31,lpc', '-f', `multiboot,${elf}`, 'vm0']);
    expect(m.powerButton()).toBe(false);
    m.handleExit({ kind: 'inout', port: 0xb2, size: 1, direction: 'out', value: 0xa0 });
    expect(m.powerButton()).toBe(true);
    expect(m.handleExit({ kind: 'inout', port: 0x404, size: 2, direction: 'out', value: (5 << 10) | 0x2000 })).toMatchObject({ action: 'stop', status: 1 });
    const { m: m2 } = await machine(['-s', '0,hostbridge', '-f', `multiboot,${elf}`, 'vm1']);
    expect(m2.handleExit({ kind: 'inout', port: 0xcf9, size: 1, direction: 'out', value: 6 })).toMatchObject({ action: 'stop', status: 0 });
  });

  it('refuses what it cannot run, naming it', async () => {
    const fail = async (args: string[]) => {
      try {
        await machine(args);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('no error');
    };
    expect((await fail(['-s', '3,hda', '-f', `multiboot,${elf}`, 'vm'])).message).toBe('pci slot 0:3:0: device model "hda" is not supported by tsbhyve');
    expect((await fail(['-o', 'pci.0.3.0.device=ahci-hd', '-f', `multiboot,${elf}`, 'vm'])).message).toBe('pci slot 0:3:0: legacy device "ahci-hd", use "ahci" instead');
    expect((await fail(['-s', '3,virtio-blk,/nonexistent.img', '-f', `multiboot,${elf}`, 'vm'])).message).toMatch(/pci slot 0:3:0: Could not open backing file: \/nonexistent.img/);
    expect((await fail(['-s', '3,virtio-net,carrier', '-f', `multiboot,${elf}`, 'vm'])).message).toBe("pci slot 0:3:0: unknown backend 'carrier'");
    expect((await fail(['vm'])).message).toMatch(/no bootrom was configured/);
    const e = await fail(['-s', '31,lpc', '-l', 'com1,tcp=bogus', '-f', `multiboot,${elf}`, 'vm']);
    expect(e.exitStatus).toBe(4);
    expect(e.message).toMatch(/Unable to initialize backend 'tcp=bogus' for LPC device com1/);
    expect((await fail(['-f', 'multiboot,/no/kernel', 'vm'])).message).toMatch(/^\/no\/kernel: cannot read/);
  });
});
