// virtio-console verified by a guest (fixtures/guests/virtio-console): port 0 without
// MULTIPORT. The test connects to the port's UNIX socket (tsbhyve's `port1=PATH`, QEMU's
// virtconsole on a socket chardev as reference), types lines once the guest says READY on
// COM1, and reads the guest's upper-cased echoes from the socket.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, failures, guestElf, removeBuild } from './rig.js';

let elf: string;
let dir: string;
beforeAll(async () => {
  elf = await guestElf('virtio-console');
  dir = mkdtempSync(join(tmpdir(), 'guest-vcon-'));
}, 120_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeBuild();
});

const LINES = ['hello console', 'second line through the virtqueues'];

async function connect(path: string): Promise<Socket> {
  for (let i = 0; i < 200; i++) {
    if (existsSync(path)) {
      const s = await new Promise<Socket | undefined>((res) => {
        const c = createConnection(path, () => res(c));
        c.once('error', () => res(undefined));
      });
      if (s) return s;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no socket at ${path}`);
}

for (const engine of ENGINES) {
  describe.runIf(engine.enabled)(`virtio-console guest on ${engine.title}`, () => {
    it('echoes lines typed on the port socket', async () => {
      const sock = join(dir, `${engine.name}.sock`);
      let received = '';
      let sockP: Promise<Socket> | undefined;
      let typed = false;
      const run = engine.run(
        elf,
        {
          tsbhyve: ['-s', `3,virtio-console,port1=${sock}`],
          qemu: ['-device', 'virtio-serial-pci', '-chardev', `socket,path=${sock},server=on,wait=off,id=c0`, '-device', 'virtconsole,chardev=c0'],
        },
        {
          append: `lines=${LINES.length}`,
          interact: (out) => {
            sockP ??= connect(sock).then((s) => {
              s.on('data', (d: Buffer) => (received += d.toString('latin1')));
              return s;
            });
            if (!typed && out.includes('READY\n')) {
              typed = true;
              void sockP.then((s) => s.write(LINES.map((l) => `${l}\n`).join('')));
            }
          },
        },
      );
      const r = await run;
      (await sockP)?.destroy();
      expect(failures(r.stdout)).toEqual([]);
      expect(r.status).toBe(1);
      expect(received).toBe(LINES.map((l) => `ECHO: ${l.toUpperCase()}\n`).join(''));
    }, 60_000);
  });
}
