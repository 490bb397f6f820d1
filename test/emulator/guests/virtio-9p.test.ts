// virtio-9p verified by a guest (fixtures/guests/virtio-9p): 9P2000.L spoken over the
// virtio queue to a directory this test creates — Tversion, Tattach, Twalk, Tlopen, Tread
// of a file the test wrote, Tlcreate/Twrite of a file the test then checks on the host,
// Tclunk, error replies — and with `ro` every modification refused with EROFS and nothing
// created. QEMU's virtio-9p-pci over `-fsdev local` runs the same ELF as reference.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, failures, guestElf, removeBuild } from './rig.js';

/** fixtures/guests/virtio-9p p9_byte(): the content of the test's file (salt 0) and the guest's (salt 1). */
const p9Byte = (off: number, salt: number): number => ((((off * 131 + salt * 7 + (off >>> 8)) & 0xff) ^ 0x5a) & 0xff);
const pattern = (len: number, salt: number): Buffer => {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = p9Byte(i, salt);
  return b;
};

let elf: string;
let dir: string;
beforeAll(async () => {
  elf = await guestElf('virtio-9p');
  dir = mkdtempSync(join(tmpdir(), 'guest-9p-'));
}, 120_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeBuild();
});

function share(name: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  writeFileSync(join(d, 'hello.txt'), pattern(3000, 0));
  return d;
}

for (const engine of ENGINES) {
  describe.runIf(engine.enabled)(`virtio-9p guest on ${engine.title}`, () => {
    for (const ro of [false, true]) {
      it(`speaks 9P2000.L to the shared directory (${ro ? 'read-only' : 'writable'})`, async () => {
        const d = share(`${engine.name}-${ro ? 'ro' : 'rw'}`);
        const r = await engine.run(
          elf,
          {
            tsbhyve: ['-s', `5,virtio-9p,hostshare=${d}${ro ? ',ro' : ''}`],
            qemu: ['-fsdev', `local,id=f0,path=${d},security_model=none${ro ? ',readonly=on' : ''}`, '-device', 'virtio-9p-pci,fsdev=f0,mount_tag=hostshare'],
          },
          { append: ro ? 'ro' : 'rw' },
        );
        expect(failures(r.stdout)).toEqual([]);
        expect(r.stdout).toContain("mount tag 'hostshare'");
        expect(r.stdout).toContain('read 3000 bytes of hello.txt');
        expect(r.status).toBe(1);
        const created = join(d, 'guest.txt');
        if (ro) {
          expect(existsSync(created)).toBe(false);
        } else {
          const got = readFileSync(created);
          expect(got.length).toBe(5000);
          expect(got.equals(pattern(5000, 1))).toBe(true);
        }
        // The guest never changes the test's file.
        expect(readFileSync(join(d, 'hello.txt')).equals(pattern(3000, 0))).toBe(true);
      }, 60_000);
    }
  });
}
