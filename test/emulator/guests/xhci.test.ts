// xHCI and the USB tablet verified by a guest (fixtures/guests/xhci): controller reset,
// DCBAA, command and event rings, port reset, Enable Slot, Address Device, the device
// descriptor (bhyve's tablet is FB5D:0001), the configuration, SET_CONFIGURATION,
// Configure Endpoint, and interrupt IN reports for pointer events this test injects.
// On tsbhyve the events go in as RFB PointerEvents through the fbuf VNC server (the
// VNC → console → tablet path, scaled from the 800×600 display to 0..0x7FFF); on QEMU
// (qemu-xhci + usb-tablet, the reference) as QMP input-send-event absolute events.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, failures, guestElf, removeBuild } from './rig.js';
import { freePort, RfbClient } from './rfb-client.js';

let elf: string;
let dir: string;
beforeAll(async () => {
  elf = await guestElf('xhci');
  dir = mkdtempSync(join(tmpdir(), 'guest-xhci-'));
}, 120_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeBuild();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two pointer events through RFB: a move to the centre, then left button down at (200, 150). */
async function injectRfb(port: number): Promise<void> {
  const c = await RfbClient.connect(port);
  c.pointer(0, 400, 300);
  await sleep(300);
  c.pointer(1, 200, 150);
  await sleep(300);
  c.close();
}

/** The same two events as QMP absolute input events (0..0x7FFF per axis). */
async function injectQmp(path: string): Promise<void> {
  const sock = connect(path);
  let buf = '';
  const lines: string[] = [];
  sock.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  const reply = async () => {
    for (let n = 0; n < 100; n++) {
      const k = lines.findIndex((l) => l.includes('"return"') || l.includes('"error"'));
      if (k >= 0) {
        const l = lines.splice(0, k + 1).pop()!;
        if (l.includes('"error"')) throw new Error(`QMP: ${l}`);
        return;
      }
      await sleep(50);
    }
    throw new Error('QMP: no reply');
  };
  await new Promise<void>((res, rej) => {
    sock.once('connect', res);
    sock.once('error', rej);
  });
  sock.write('{"execute":"qmp_capabilities"}\n');
  await reply();
  const send = async (events: unknown[]) => {
    sock.write(`${JSON.stringify({ execute: 'input-send-event', arguments: { events } })}\n`);
    await reply();
  };
  const abs = (axis: string, value: number) => ({ type: 'abs', data: { axis, value } });
  await send([abs('x', 0x4000), abs('y', 0x4000)]);
  await sleep(300);
  await send([{ type: 'btn', data: { down: true, button: 'left' } }, abs('x', 0x2000), abs('y', 0x2000)]);
  await sleep(300);
  sock.destroy();
}

for (const engine of ENGINES) {
  describe.runIf(engine.enabled)(`xhci guest on ${engine.title}`, () => {
    it('enumerates the tablet and receives interrupt IN reports for injected pointer events', async () => {
      const vncPort = await freePort();
      const qmp = join(dir, `${engine.name}.qmp`);
      let injected = false;
      let injectError: string | undefined;
      const r = await engine.run(
        elf,
        {
          tsbhyve: ['-s', `6,fbuf,tcp=127.0.0.1:${vncPort},w=800,h=600`, '-s', '7,xhci,tablet'],
          qemu: ['-device', 'qemu-xhci', '-device', 'usb-tablet', '-qmp', `unix:${qmp},server=on,wait=off`],
        },
        {
          append: 'reports=2',
          timeoutMs: 90_000,
          interact: (out) => {
            if (injected || !out.includes('TABLET READY')) return;
            injected = true;
            (engine.name === 'qemu' ? injectQmp(qmp) : injectRfb(vncPort)).catch((e: Error) => (injectError = e.message));
          },
        },
      );
      expect(injectError).toBeUndefined();
      expect(failures(r.stdout)).toEqual([]);
      expect(r.stdout).toContain(engine.name === 'qemu' ? 'USB device 0627:0001' : 'USB device fb5d:0001 bcdUSB 300');
      const reports = r.stdout.split('\n').filter((l) => l.startsWith('REPORT '));
      // Buttons, X, Y (the tablet's 0..0x7FFF scale: 400/800 → 0x4000, 200/800 → 0x2000), wheel.
      expect(reports.map((l) => l.replace(/ \(\d+ bytes\)$/, ''))).toEqual(['REPORT 0: 00 4000 4000 00', 'REPORT 1: 01 2000 2000 00']);
      expect(r.status).toBe(1);
    }, 120_000);
  });
}
