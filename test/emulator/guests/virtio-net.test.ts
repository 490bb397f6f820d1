// virtio-net verified by guests (fixtures/guests/virtio-net) over tsbhyve's unprivileged
// `udp:` backend: a guest and the host test exchange frames (the test reads the guest's
// broadcast PING from a real UDP socket, checks it, and answers with a PONG addressed to
// the guest's MAC), and two tsbhyve processes pointed at each other exchange HELLOs.
// QEMU's `-netdev socket,udp=` carries the same one-frame-per-datagram format (reference).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, pingProblems, pongPeer } from './net-peer.js';
import { ENGINES, failures, guestElf, removeBuild, runTsbhyve } from './rig.js';

let elf: string;
beforeAll(async () => {
  elf = await guestElf('virtio-net');
}, 120_000);
afterAll(() => removeBuild());

for (const engine of ENGINES) {
  describe.runIf(engine.enabled)(`virtio-net guest on ${engine.title}`, () => {
    it('sends a frame to the host test over UDP and receives its answer', async () => {
      const [guestPort] = await freePorts(1);
      const host = await pongPeer(guestPort!);
      const mac = '52:54:00:12:34:56';
      try {
        const r = await engine.run(elf, {
          tsbhyve: ['-s', `3,virtio-net,udp:127.0.0.1:${host.port},local=127.0.0.1:${guestPort},mac=${mac}`],
          qemu: ['-netdev', `socket,id=n0,udp=127.0.0.1:${host.port},localaddr=127.0.0.1:${guestPort}`, '-device', `virtio-net-pci,netdev=n0,mac=${mac},romfile=`],
        }, { append: 'role=host' });
        expect(failures(r.stdout)).toEqual([]);
        expect(r.stdout).toContain('RECEIVED: PONG from the host test\n');
        expect(r.status).toBe(1);
        // Padded to the Ethernet minimum, no virtio header on the wire.
        expect(pingProblems(host.frames[0], mac)).toEqual([]);
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
