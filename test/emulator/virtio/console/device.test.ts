import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SocketServerBackend } from '../../../../src/emulator/backends/serial/socket-server.js';
import { CollectingLogger } from '../../../../src/emulator/log.js';
import { VirtioConsole } from '../../../../src/emulator/virtio/console/device.js';
import { VirtioPciTransport } from '../../../../src/emulator/virtio/pci.js';
import { pciWorld } from '../../pci/helpers.js';
import { makeMemory, PciAccess, RingDriver } from '../driver.js';

const wait = async (pred: () => boolean, what: string) => {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > 3000) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('virtio-console', () => {
  it('runs the multiport control protocol and bridges a port to its UNIX socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vtcon-'));
    const p0 = await SocketServerBackend.listen({ kind: 'unix', path: join(dir, 'console.sock') });
    const p1 = await SocketServerBackend.listen({ kind: 'unix', path: join(dir, 'agent.sock') });
    const dev = new VirtioConsole([
      { name: 'console0', backend: p0 },
      { name: 'org.qemu.guest_agent.0', backend: p1 },
    ]);
    const w = pciWorld();
    const mem = makeMemory(1 << 22);
    const fn = w.host.createFunction(0, 6, 0, 'virtio-console');
    new VirtioPciTransport(fn, dev, { mode: 'transitional', msix: false, memory: mem, log: new CollectingLogger() });
    w.host.assignResources();
    const io = new PciAccess(fn);
    expect(io.r(0, 20 + 4, 4)).toBe(16); // max_nr_ports
    const bases = [0, 1, 2, 3, 4, 5].map((i) => 0x10000 + i * 0x2000);
    io.legacyInit(1 << 1, bases.map((base, index) => ({ index, base })));
    const rings = bases.map((b) => RingDriver.legacy(mem, 64, b));
    const ctrlRx = rings[2]!;
    const ctrlTx = rings[3]!;
    for (let i = 0; i < 8; i++) ctrlRx.post([{ addr: 0x100000 + i * 0x100, len: 0x100, write: true }]);
    io.notifyLegacy(2);
    const control = (id: number, event: number, value: number) => {
      const a = 0x180000 + ctrlTx.availIdx * 16;
      mem.write32(a, id);
      mem.write16(a + 4, event);
      mem.write16(a + 6, value);
      ctrlTx.post([{ addr: a, len: 8 }]);
      io.notifyLegacy(3);
    };
    const received = () =>
      ctrlRx.takeUsed().map((u) => {
        const a = 0x100000 + u.id * 0x100;
        const extra = u.len > 8 ? Buffer.from(mem.readBytes(a + 8, u.len - 8)).toString() : undefined;
        return { id: mem.read32(a), event: mem.read16(a + 4), value: mem.read16(a + 6), ...(extra ? { name: extra } : {}) };
      });
    control(0, 0, 1); // DEVICE_READY
    expect(received()).toEqual([
      { id: 0, event: 1, value: 1 },
      { id: 1, event: 1, value: 1 },
    ]);
    control(1, 3, 1); // PORT_READY
    expect(received()).toEqual([{ id: 1, event: 7, value: 1, name: 'org.qemu.guest_agent.0' }]);

    let got = '';
    const client: Socket = await new Promise((r, j) => {
      const s = connect(join(dir, 'agent.sock'), () => r(s));
      s.on('error', j);
    });
    client.on('data', (d) => (got += d));
    await wait(() => ctrlRx.usedSeen !== mem.read16(ctrlRx.used + 2), 'PORT_OPEN after connect');
    expect(received()).toEqual([{ id: 1, event: 6, value: 1 }]);

    // Host bytes wait until the guest opens the port.
    const rx1 = rings[4]!;
    rx1.post([{ addr: 0x200000, len: 64, write: true }]);
    client.write('{"execute":"guest-ping"}');
    await new Promise((r) => setTimeout(r, 50));
    expect(rx1.takeUsed()).toEqual([]);
    control(1, 6, 1); // guest opens the port
    await wait(() => rx1.usedSeen !== mem.read16(rx1.used + 2), 'host bytes in the guest');
    const used = rx1.takeUsed();
    expect(Buffer.from(mem.readBytes(0x200000, used[0]!.len)).toString()).toBe('{"execute":"guest-ping"}');

    // Guest bytes go to the client.
    const tx1 = rings[5]!;
    mem.writeBytes(0x210000, Buffer.from('{"return":{}}\n'));
    tx1.post([{ addr: 0x210000, len: 14 }]);
    io.notifyLegacy(5);
    await wait(() => got === '{"return":{}}\n', 'guest bytes at the client');

    client.destroy();
    await wait(() => ctrlRx.usedSeen !== mem.read16(ctrlRx.used + 2), 'PORT_OPEN(0) after disconnect');
    expect(received()).toEqual([{ id: 1, event: 6, value: 0 }]);
    await p0.close();
    await p1.close();
  });
});
