// virtio-net verified by guests (fixtures/guests/virtio-net) over tsbhyve's unprivileged
// `udp:` backend: a guest and the host test exchange frames (the test reads the guest's
// broadcast PING from a real UDP socket, checks it, and answers with a PONG addressed to
// the guest's MAC), and two tsbhyve processes pointed at each other exchange HELLOs.
// QEMU's `-netdev socket,udp=` carries the same one-frame-per-datagram format (reference).
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, failures, guestElf, removeBuild, runTsbhyve } from './rig.js';

let elf: string;
beforeAll(async () => {
  elf = await guestElf('virtio-net');
}, 120_000);
afterAll(() => removeBuild());

const ETHERTYPE = 0x88b5;

function bound(port = 0): Promise<Socket> {
  return new Promise((resolveP, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolveP(s));
  });
}

async function freePorts(n: number): Promise<number[]> {
  const socks = await Promise.all(Array.from({ length: n }, () => bound()));
  const ports = socks.map((s) => s.address().port);
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

for (const engine of ENGINES) {
  describe.runIf(engine.enabled)(`virtio-net guest on ${engine.title}`, () => {
    it('sends a frame to the host test over UDP and receives its answer', async () => {
      const host = await bound();
      const [guestPort] = await freePorts(1);
      const mac = engine.name === 'tsbhyve' ? '52:54:00:12:34:56' : '52:54:00:12:34:57';
      const frames: Buffer[] = [];
      host.on('message', (msg, rinfo) => {
        frames.push(msg);
        if (rinfo.port !== guestPort) return;
        const pong = Buffer.alloc(60);
        msg.copy(pong, 0, 6, 12); // to the sender's MAC
        macBytes('02:00:00:00:00:99').copy(pong, 6);
        pong.writeUInt16BE(ETHERTYPE, 12);
        pong.write('PONG from the host test', 14, 'latin1');
        host.send(pong, rinfo.port, rinfo.address);
      });
      const hostPort = host.address().port;
      try {
        const r = await engine.run(elf, {
          tsbhyve: ['-s', `3,virtio-net,udp:127.0.0.1:${hostPort},local=127.0.0.1:${guestPort},mac=${mac}`],
          qemu: ['-netdev', `socket,id=n0,udp=127.0.0.1:${hostPort},localaddr=127.0.0.1:${guestPort}`, '-device', `virtio-net-pci,netdev=n0,mac=${mac},romfile=`],
        }, { append: 'role=host' });
        expect(failures(r.stdout)).toEqual([]);
        expect(r.stdout).toContain('RECEIVED: PONG from the host test\n');
        expect(r.status).toBe(1);
        const ping = frames[0]!;
        expect(ping.length).toBe(60); // padded to the Ethernet minimum, no virtio header on the wire
        expect(ping.subarray(0, 6).equals(Buffer.alloc(6, 0xff))).toBe(true);
        expect(ping.subarray(6, 12).equals(macBytes(mac))).toBe(true);
        expect(ping.readUInt16BE(12)).toBe(ETHERTYPE);
        expect(ping.subarray(14, 14 + 27).toString('latin1')).toBe(`PING from ${mac}`);
      } finally {
        host.close();
      }
    }, 60_000);
  });
}

describe('virtio-net between two tsbhyve processes', () => {
  it('exchanges frames over a UDP link', async () => {
    const [pa, pb] = await freePorts(2);
    const a = runTsbhyve(elf, ['-s', `3,virtio-net,udp:127.0.0.1:${pb},local=127.0.0.1:${pa},mac=52:54:00:00:00:0a`], { append: 'role=peer' }, 'vmA');
    const b = runTsbhyve(elf, ['-s', `3,virtio-net,udp:127.0.0.1:${pa},local=127.0.0.1:${pb},mac=52:54:00:00:00:0b`], { append: 'role=peer' }, 'vmB');
    const [ra, rb] = await Promise.all([a, b]);
    expect(failures(ra.stdout)).toEqual([]);
    expect(failures(rb.stdout)).toEqual([]);
    expect(ra.stdout).toContain('RECEIVED: HELLO from 52:54:00:00:00:0b\n');
    expect(rb.stdout).toContain('RECEIVED: HELLO from 52:54:00:00:00:0a\n');
    expect([ra.status, rb.status]).toEqual([1, 1]);
  }, 90_000);
});
