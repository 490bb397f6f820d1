/**
 * Unit tests of the asset pipeline's format code against independent tools: the newc
 * writer read back by busybox cpio, the tar reader on archives GNU tar writes (ustar,
 * GNU long names, pax), the ELF readers on objects gcc builds, and hostile inputs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { CpioError, CpioWriter } from './cpio.js';
import { ElfError, elfSection, hasInterpreter, readModinfo } from './elf.js';
import { readTar, TarError, type TarEntry } from './tar.js';

const work = mkdtempSync(join(tmpdir(), 'tsvirt-formats-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function busybox(): string | undefined {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) if (spawnSync(p, ['true']).status === 0) return p;
  return undefined;
}
const BUSYBOX = busybox();

describe('newc cpio writer', () => {
  it.skipIf(!BUSYBOX)('writes an archive busybox cpio lists with names, types, modes and sizes', () => {
    const w = new CpioWriter();
    w.add({ type: 'dir', path: 'bin' })
      .add({ type: 'dir', path: 'dev' })
      .add({ type: 'chardev', path: 'dev/console', major: 5, minor: 1 })
      .add({ type: 'file', path: 'init', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 })
      .add({ type: 'file', path: 'bin/odd', data: Buffer.alloc(5, 7) })
      .add({ type: 'symlink', path: 'bin/sh', target: 'busybox' });
    const archive = w.finish();
    expect(archive.length % 4).toBe(0);
    const file = join(work, 'a.cpio');
    writeFileSync(file, archive);
    const r = spawnSync(BUSYBOX!, ['cpio', '-t', '-v', '-F', file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const line = (name: string) => lines.find((l) => l.endsWith(` ${name}`));
    expect(lines).toHaveLength(6);
    expect(line('dev/console')).toMatch(/^crw-------/);
    expect(line('init')).toMatch(/^-rwxr-xr-x\s+0\/0\s+18 /);
    expect(line('bin/odd')).toMatch(/^-rw-r--r--\s+0\/0\s+5 /);
    expect(line('bin')).toMatch(/^drwxr-xr-x/);
    expect(line('bin/sh -> busybox')).toMatch(/^lrwxrwxrwx/);
    // Data survives: extract one file to stdout.
    const x = spawnSync(BUSYBOX!, ['cpio', '-i', '--to-stdout', '-F', file, 'init'], { encoding: 'utf8' });
    expect(x.stdout).toBe('#!/bin/sh\necho hi\n');
  });

  it('is reproducible byte for byte', () => {
    const mk = () => new CpioWriter().add({ type: 'file', path: 'x', data: Buffer.from('abc') }).finish();
    expect(mk().equals(mk())).toBe(true);
  });

  it('refuses names that escape, repeat or are empty, and adds after finish', () => {
    const w = new CpioWriter();
    expect(() => w.add({ type: 'dir', path: '../etc' })).toThrow(CpioError);
    expect(() => w.add({ type: 'dir', path: 'a//b' })).toThrow(CpioError);
    expect(() => w.add({ type: 'dir', path: '' })).toThrow(CpioError);
    w.add({ type: 'dir', path: 'a' });
    expect(() => w.add({ type: 'dir', path: '/a' })).toThrow(/duplicate/);
    w.finish();
    expect(() => w.add({ type: 'dir', path: 'b' })).toThrow(/finished/);
  });
});

async function listTar(data: Buffer, chunk = 7919): Promise<Array<TarEntry & { data?: string }>> {
  const out: Array<TarEntry & { data?: string }> = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) chunks.push(data.subarray(i, i + chunk));
  await readTar(
    Readable.from(chunks),
    (e) => {
      out.push({ ...e });
      return true;
    },
    (e, d) => {
      out.find((x) => x.path === e.path)!.data = d.toString('latin1');
    },
  );
  return out;
}

describe('tar reader', () => {
  const src = join(work, 'tree');
  const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(70)}.ko`;
  mkdirSync(join(src, long, '..'), { recursive: true });
  writeFileSync(join(src, long), 'long-named module');
  writeFileSync(join(src, 'small'), 'x'.repeat(513));
  writeFileSync(join(src, 'empty'), '');
  spawnSync('ln', ['-s', 'small', join(src, 'link')]);

  for (const format of ['gnu', 'ustar', 'pax'] as const) {
    it(`reads what GNU tar writes in ${format} format, at any chunking`, async () => {
      const names = format === 'ustar' ? ['small', 'empty', 'link'] : ['small', 'empty', 'link', long];
      const tar = execFileSync('tar', ['-c', `--format=${format}`, '-C', src, ...names.map((n) => `./${n}`)], { maxBuffer: 1 << 24 });
      for (const chunk of [1, 511, 7919, 1 << 20]) {
        const entries = await listTar(tar, chunk);
        expect(entries.find((e) => e.path === 'small')).toMatchObject({ type: 'file', size: 513, data: 'x'.repeat(513) });
        expect(entries.find((e) => e.path === 'empty')).toMatchObject({ type: 'file', size: 0, data: '' });
        expect(entries.find((e) => e.path === 'link')).toMatchObject({ type: 'symlink', linkname: 'small' });
        if (format !== 'ustar') expect(entries.find((e) => e.path === long)).toMatchObject({ type: 'file', data: 'long-named module' });
      }
      // dataOffset points at the member's bytes in the archive.
      const small = (await listTar(tar)).find((e) => e.path === 'small')!;
      expect(tar.subarray(small.dataOffset, small.dataOffset + 513).toString()).toBe('x'.repeat(513));
    });
  }

  it('rejects a damaged header and a truncated archive', async () => {
    const tar = execFileSync('tar', ['-c', '-C', src, './small']);
    const bad = Buffer.from(tar);
    bad[10] ^= 0xff;
    await expect(listTar(bad)).rejects.toThrow(TarError);
    await expect(listTar(tar.subarray(0, 700))).rejects.toThrow(/truncated/);
    await expect(listTar(tar.subarray(0, 300))).rejects.toThrow(/truncated/);
  });

  it('does not buffer members that are not selected', async () => {
    const tar = execFileSync('tar', ['-c', '-C', src, './small', './empty']);
    const seen: string[] = [];
    await readTar(Readable.from([tar]), (e) => (seen.push(e.path), false), () => {
      throw new Error('no data expected');
    });
    expect(seen).toEqual(['small', 'empty']);
  });
});

describe('ELF readers', () => {
  const have = spawnSync('gcc', ['--version']).status === 0;

  it.skipIf(!have)('reads .modinfo strings from a relocatable object gcc builds', () => {
    const c = join(work, 'mod.c');
    writeFileSync(
      c,
      'static const char mi[] __attribute__((section(".modinfo"), used)) =\n' +
        '  "name=virtio-thing\\0depends=virtio,virtio_ring\\0softdep=pre: crypto-crc32c\\0alias=virtio:d00000004v*\\0alias=other\\0";\n' +
        'int f(void) { return 1; }\n',
    );
    execFileSync('gcc', ['-c', '-o', join(work, 'mod.o'), c]);
    const mi = readModinfo(readFileSync(join(work, 'mod.o')), 'mod.o');
    expect(mi.get('name')).toEqual(['virtio-thing']);
    expect(mi.get('depends')).toEqual(['virtio,virtio_ring']);
    expect(mi.get('softdep')).toEqual(['pre: crypto-crc32c']);
    expect(mi.get('alias')).toEqual(['virtio:d00000004v*', 'other']);
    expect(elfSection(readFileSync(join(work, 'mod.o')), '.nonexistent', 'mod.o')).toBeUndefined();
  });

  it.skipIf(!have)('tells static from dynamic executables', () => {
    const s = join(work, 'start.S');
    writeFileSync(s, '.globl _start\n_start: mov $60, %eax\n xor %edi, %edi\n syscall\n');
    execFileSync('gcc', ['-nostdlib', '-static', '-o', join(work, 'static'), s]);
    execFileSync('gcc', ['-o', join(work, 'dynamic'), '-x', 'c', '-'], { input: 'int main(void){return 0;}\n' });
    expect(hasInterpreter(readFileSync(join(work, 'static')), 'static')).toBe(false);
    expect(hasInterpreter(readFileSync(join(work, 'dynamic')), 'dynamic')).toBe(true);
  });

  it('rejects non-ELF and truncated files without reading out of bounds', () => {
    expect(() => readModinfo(Buffer.from('not an elf at all, not at all, really not, no no no no no no'), 'x')).toThrow(ElfError);
    const h = Buffer.alloc(64);
    h.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
    h.writeBigUInt64LE(1000n, 0x28); // section headers beyond the end
    h.writeUInt16LE(64, 0x3a);
    h.writeUInt16LE(3, 0x3c);
    expect(() => readModinfo(h, 'trunc')).toThrow(/out of bounds/);
    h.writeBigUInt64LE(1n << 62n, 0x28);
    expect(() => readModinfo(h, 'huge')).toThrow(ElfError);
    const p = Buffer.alloc(64);
    p.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
    p.writeBigUInt64LE(40n, 0x20);
    p.writeUInt16LE(56, 0x36);
    p.writeUInt16LE(2, 0x38);
    expect(() => hasInterpreter(p, 'ph')).toThrow(/out of bounds/);
  });
});
