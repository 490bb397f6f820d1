// AHCI verified by a guest (fixtures/guests/ahci): IDENTIFY, DMA read/write/flush on a
// disk image whose contents the test checks afterwards, ATAPI INQUIRY / READ CAPACITY /
// READ(10) of an ISO 9660 image the test makes (xorriso, or the built-in writer — both
// images are run so the writer is proven by the same guest).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeIso, writeIso9660 } from './iso9660.js';
import { diskByte, guestByte, mismatch, patternedImage } from './patterns.js';
import { ENGINES, failures, guestElf, removeBuild, type Devices } from './rig.js';

const SECTORS = 2048;
const FILES = { 'hello.txt': 'hello from the iso\nsecond line\n' };
let elf: string;
let dir: string;
beforeAll(async () => {
  elf = await guestElf('ahci');
  dir = mkdtempSync(join(tmpdir(), 'guest-ahci-'));
}, 120_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeBuild();
});

function ahci(disk: string, iso: string): Devices {
  return { tsbhyve: ['-s', `4,ahci,hd:${disk},cd:${iso}`], qemu: ['-device', 'ahci,id=ahci', '-drive', `file=${disk},if=none,id=hd0,format=raw`, '-device', 'ide-hd,drive=hd0,bus=ahci.0',
    '-drive', `file=${iso},if=none,id=cd0,format=raw,media=cdrom,readonly=on`, '-device', 'ide-cd,drive=cd0,bus=ahci.1'] };
}

function check(out: string, status: number, disk: string): void {
  expect(failures(out)).toEqual([]);
  expect(out).toContain('VOLUME: TSVIRT_TEST\n');
  expect(out).toContain('FILE: hello from the iso\n');
  expect(out).toContain('disks 1 cdroms 1');
  expect(status).toBe(1);
  const img = readFileSync(disk);
  expect(mismatch(img, 0, 8, diskByte)).toBeUndefined();
  expect(mismatch(img, 8, 8, guestByte)).toBeUndefined();
  expect(mismatch(img, 16, SECTORS - 16, diskByte)).toBeUndefined();
}

for (const engine of ENGINES) {
  describe.runIf(engine.enabled)(`ahci guest on ${engine.title}`, () => {
    it('drives the disk and the CD-ROM (ISO from makeIso)', async () => {
      const disk = join(dir, `${engine.name}-1.img`);
      writeFileSync(disk, patternedImage(SECTORS));
      const iso = join(dir, `${engine.name}-1.iso`);
      makeIso(iso, 'TSVIRT_TEST', FILES);
      const r = await engine.run(elf, ahci(disk, iso));
      check(r.stdout, r.status, disk);
    }, 60_000);
    it('reads an ISO written by the built-in ISO 9660 writer', async () => {
      const disk = join(dir, `${engine.name}-2.img`);
      writeFileSync(disk, patternedImage(SECTORS));
      const iso = join(dir, `${engine.name}-2.iso`);
      writeIso9660(iso, 'TSVIRT_TEST', FILES);
      const r = await engine.run(elf, ahci(disk, iso));
      check(r.stdout, r.status, disk);
    }, 60_000);
  });
}
