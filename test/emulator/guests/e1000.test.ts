// e1000 verified by a guest (fixtures/guests/e1000): reset, MAC from RAL0/RAH0 and the
// EEPROM (EERD), legacy receive/transmit rings, a broadcast PING to the host test over the
// `udp:` backend and its PONG back to the guest's MAC. QEMU's e1000 (82540EM) runs the same
// ELF as reference.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, pingProblems, pongPeer } from './net-peer.js';
import { ENGINES, failures, guestElf, removeBuild } from './rig.js';

let elf: string;
beforeAll(async () => {
  elf = await guestElf('e1000');
}, 120_000);
afterAll(() => removeBuild());

for (const engine of ENGINES) {
  describe.runIf(engine.enabled)(`e1000 guest on ${engine.title}`, () => {
    it('exchanges frames with the host test', async () => {
      const [guestPort] = await freePorts(1);
      const host = await pongPeer(guestPort!);
      const mac = '52:54:00:00:10:00';
      try {
        const r = await engine.run(elf, {
          tsbhyve: ['-s', `3,e1000,udp:127.0.0.1:${host.port},local=127.0.0.1:${guestPort},mac=${mac}`],
          qemu: ['-netdev', `socket,id=n0,udp=127.0.0.1:${host.port},localaddr=127.0.0.1:${guestPort}`, '-device', `e1000,netdev=n0,mac=${mac},romfile=`],
        });
        expect(failures(r.stdout)).toEqual([]);
        expect(r.stdout).toContain(`MAC ${mac} link up\n`);
        expect(r.stdout).toContain('RECEIVED: PONG from the host test\n');
        expect(r.status).toBe(1);
        expect(pingProblems(host.frames[0], mac)).toEqual([]);
      } finally {
        host.close();
      }
    }, 60_000);
  });
}
