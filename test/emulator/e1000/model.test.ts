import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { E1000Device } from '../../../src/emulator/e1000/device.js';
import * as R from '../../../src/emulator/e1000/regs.js';
import { buildError, buildMachine } from '../helpers/machine-rig.js';

const TX_RING = 0x10000;
const RX_RING = 0x20000;
const BUF = 0x100000;

describe('the e1000 PCI model over a real UDP link', () => {
  it('exchanges frames with a host socket through the udp backend', async () => {
    const host = createSocket('udp4');
    host.bind(0, '127.0.0.1');
    await once(host, 'listening');
    const hostPort = host.address().port;
    const { m, cfg } = await buildMachine(['-s', '0,hostbridge', '-s', `5,e1000,udp:127.0.0.1:${hostPort},mac=52:54:00:00:00:05`]);
    expect(cfg(0, 5, 0, 0)).toBe(0x100f8086);
    const fn = m.pci.getFunction(0, 5, 0)!;
    const dev = fn.ops as E1000Device;
    expect([...dev.mac]).toEqual([0x52, 0x54, 0, 0, 0, 5]);
    // The guest side, through the BAR as a driver would.
    fn.cfgWrite(0x04, 2, 0x7); // I/O, memory, bus master
    const bar = fn.bars[0]!.addr;
    const set = (off: number, v: number) => m.mmio.write(bar + off, 4, v >>> 0);
    const reg = (off: number) => m.mmio.read(bar + off, 4) >>> 0;
    const mem = m.memory;
    for (let i = 0; i < 8; i++) mem.write64(RX_RING + 16 * i, BigInt(BUF + 0x10000 + 2048 * i));
    set(R.E1000_RDBAL, RX_RING);
    set(R.E1000_RDLEN, 128);
    set(R.E1000_RDT, 7);
    set(R.E1000_RCTL, R.E1000_RCTL_EN | R.E1000_RCTL_BAM | R.E1000_RCTL_SECRC);
    set(R.E1000_TDBAL, TX_RING);
    set(R.E1000_TDLEN, 128);
    set(R.E1000_TCTL, R.E1000_TCTL_EN);
    // Guest → host.
    const out = Buffer.alloc(60);
    out.fill(0xff, 0, 6);
    Buffer.from([0x52, 0x54, 0, 0, 0, 5]).copy(out, 6);
    out.writeUInt16BE(0x0806, 12);
    out.write('hello host', 14);
    mem.writeBytes(BUF, out);
    mem.write64(TX_RING, BigInt(BUF));
    mem.write32(TX_RING + 8, out.length | R.E1000_TXD_CMD_EOP | R.E1000_TXD_CMD_IFCS | R.E1000_TXD_CMD_RS);
    const got = once(host, 'message');
    set(R.E1000_TDT, 1);
    const [msg, rinfo] = (await got) as [Buffer, { port: number }];
    expect(msg.equals(out)).toBe(true);
    // Host → guest, to the port the backend sends from.
    const back = Buffer.alloc(64);
    Buffer.from([0x52, 0x54, 0, 0, 0, 5]).copy(back, 0);
    back.writeUInt16BE(0x0800, 12);
    back.write('hello guest', 14);
    host.send(back, rinfo.port, '127.0.0.1');
    for (let i = 0; i < 100 && reg(R.E1000_RDH) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(reg(R.E1000_RDH)).toBe(1);
    expect(Buffer.from(mem.readBytes(BUF + 0x10000, 64)).equals(back)).toBe(true);
    expect(reg(R.E1000_ICR) & R.E1000_ICR_RXT0).toBeTruthy();
    await m.close();
    host.close();
  });

  it('refuses a bad MAC, an unknown backend and mtu', async () => {
    expect((await buildError(['-s', '5,e1000,udp:127.0.0.1:9,mac=01:00:00:00:00:01'])).message).toMatch(/^pci slot 0:5:0: Invalid MAC address "01:00:00:00:00:01": multicast/);
    expect((await buildError(['-s', '5,e1000,carrier'])).message).toBe("pci slot 0:5:0: unknown backend 'carrier'");
    expect((await buildError(['-s', '5,e1000,udp:127.0.0.1:9,mtu=9000'])).message).toMatch(/mtu option is not supported/);
  });
});
