// The bhyve framebuffer verified by a guest (fixtures/guests/fbuf) and seen through the VNC
// server: the guest finds FB5D:40FB, checks the mode block against the configured size and
// paints every pixel; this test connects as an RFB client (rfb-client.ts: version 3.8,
// security None or VNC Authentication, ServerInit, raw FramebufferUpdate) and compares
// every pixel with the guest's fb_pixel(). A wrong password is refused. QEMU has no
// bhyve framebuffer, so only tsbhyve runs it (default backend and KVM where it opens).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, failures, guestElf, removeBuild } from './rig.js';
import { freePort, RfbClient } from './rfb-client.js';

/** fixtures/guests/fbuf fb_pixel(x, y, 0) as 0x00RRGGBB. */
const fbPixel = (x: number, y: number): number => (((x * 7 + y) & 0xff) << 16) | (((y * 3) & 0xff) << 8) | ((x + y * 5) & 0xff);

let elf: string;
beforeAll(async () => {
  elf = await guestElf('fbuf');
}, 120_000);
afterAll(() => removeBuild());

interface Seen {
  init?: RfbClient['init'];
  bad?: string;
  wrongPassword?: string;
  error?: string;
}

/** Compares the screen with fb_pixel; the first difference, or undefined. */
function firstDifference(px: Uint32Array, w: number, h: number): string | undefined {
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (px[y * w + x] !== fbPixel(x, y)) return `(${x},${y}) ${px[y * w + x]!.toString(16)} != ${fbPixel(x, y).toString(16)}`;
  return undefined;
}

for (const engine of ENGINES.filter((e) => e.name !== 'qemu')) {
  describe.runIf(engine.enabled)(`fbuf guest on ${engine.title}`, () => {
    for (const password of [undefined, 'sesame12']) {
      it(`paints the framebuffer; an RFB client sees every pixel (${password ? 'VNC password' : 'no security'})`, async () => {
        const port = await freePort();
        const seen: Seen = {};
        let looking = false;
        const r = await engine.run(
          elf,
          { qemu: [], tsbhyve: ['-s', `6,fbuf,tcp=127.0.0.1:${port},w=800,h=600${password ? `,password=${password}` : ''}`] },
          {
            append: 'w=800 h=600',
            timeoutMs: 90_000,
            interact: (out, child) => {
              if (looking || !out.includes('READY')) return;
              looking = true;
              void (async () => {
                try {
                  if (password) {
                    await RfbClient.connect(port, 'wrong').then(
                      (c) => c.close(),
                      (e: Error) => (seen.wrongPassword = e.message),
                    );
                  }
                  const c = await RfbClient.connect(port, password);
                  seen.init = c.init;
                  seen.bad = firstDifference(await c.framebuffer(), c.init.width, c.init.height);
                  c.close();
                } catch (e) {
                  seen.error = (e as Error).message;
                } finally {
                  child.stdin.write('q');
                }
              })();
            },
          },
        );
        expect(failures(r.stdout)).toEqual([]);
        expect(r.stdout).toContain('mode 800x600 depth 32');
        expect(seen.error).toBeUndefined();
        expect(seen.init).toMatchObject({ width: 800, height: 600, bpp: 32, name: 'vm0' });
        expect(seen.bad).toBeUndefined();
        if (password) expect(seen.wrongPassword).toMatch(/security failed/);
        expect(r.status).toBe(1);
      }, 120_000);
    }
  });
}
