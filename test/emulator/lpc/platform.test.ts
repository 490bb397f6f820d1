import { describe, expect, it } from 'vitest';
import { PortBus } from '../../../src/emulator/bus/port-bus.js';
import { MmioBus } from '../../../src/emulator/bus/mmio-bus.js';
import { RecordingIrq, isaLine } from '../../../src/emulator/irq/lines.js';
import { CollectingLogger } from '../../../src/emulator/log.js';
import { RunControl } from '../../../src/emulator/run-control.js';
import { handleExit } from '../../../src/emulator/vmexit.js';
import { AcpiPm, PM1A_CNT_ADDR, PM1A_EVT_ADDR, IO_GPE0_BLK, SMI_CMD, SCI_INT } from '../../../src/emulator/lpc/pm.js';
import { ResetControl } from '../../../src/emulator/lpc/reset.js';
import { Atkbdc, KBD_DATA_PORT, KBD_STS_CTL_PORT } from '../../../src/emulator/lpc/atkbdc.js';
import { PcTestDev, DEBUGEXIT_BASE, FLUSH_PAGE_PORT, IOPORT_BASE, IOPORT_BYTE_BASE, IRQ_BASE, IOMEM_BASE } from '../../../src/emulator/lpc/pc-testdev.js';
import { PostPorts } from '../../../src/emulator/lpc/post.js';
import { QemuFwCfg, encodeE820, FWCFG_SELECTOR_PORT } from '../../../src/emulator/lpc/fwcfg.js';
import { Fwctl } from '../../../src/emulator/lpc/fwctl.js';
import { PciHost } from '../../../src/emulator/pci/host.js';

function world() {
  const log = new CollectingLogger();
  const ports = new PortBus(log);
  const mmio = new MmioBus(log);
  const irq = new RecordingIrq();
  const control = new RunControl();
  return { log, ports, mmio, irq, control };
}

describe('ACPI PM registers', () => {
  function pm() {
    const w = world();
    const p = new AcpiPm(isaLine(w.irq, SCI_INT), w.control);
    w.ports.register(PM1A_EVT_ADDR, 4, p.eventBlock);
    w.ports.register(PM1A_CNT_ADDR, 2, p.controlBlock);
    w.ports.register(IO_GPE0_BLK, 2, p.gpeBlock);
    w.ports.register(SMI_CMD, 1, p.smiCmd);
    return { ...w, p };
  }

  it('powers off on SLP_EN with SLP_TYP 5 only', () => {
    const w = pm();
    w.ports.write(PM1A_CNT_ADDR, 2, (3 << 10) | 0x2000);
    expect(w.control.stop).toBeUndefined();
    expect(w.ports.read(PM1A_CNT_ADDR, 2)).toBe(3 << 10); // SLP_EN is write-only
    w.ports.write(PM1A_CNT_ADDR, 2, (5 << 10) | 0x2000);
    expect(w.control.stop).toEqual({ status: 1, reason: 'poweroff' });
  });

  it('asks RunControl to sleep on SLP_EN with SLP_TYP 1 (S3) and reports the wake source', () => {
    const w = pm();
    w.ports.write(PM1A_CNT_ADDR, 2, (1 << 10) | 0x2000);
    expect(w.control.stop).toBeUndefined(); // no sleep handler: ignored
    let sleeps = 0;
    w.control.onSleep = () => {
      sleeps++;
      return true;
    };
    w.ports.write(PM1A_CNT_ADDR, 2, 1 << 10); // no SLP_EN: nothing
    expect(sleeps).toBe(0);
    w.ports.write(PM1A_EVT_ADDR + 2, 2, 0x400);
    expect(w.p.rtcWakeEnabled).toBe(true);
    w.ports.write(PM1A_CNT_ADDR, 2, (1 << 10) | 0x2000);
    expect(sleeps).toBe(1);
    expect(w.control.stop).toBeUndefined();
    w.p.wake('rtc');
    expect(w.ports.read(PM1A_EVT_ADDR, 2)).toBe(0x8400); // WAK_STS | RTC_STS
    w.ports.write(PM1A_EVT_ADDR, 2, 0x8400);
    expect(w.ports.read(PM1A_EVT_ADDR, 2)).toBe(0);
  });

  it('enables ACPI through SMI_CMD and raises the SCI for the power button', () => {
    const w = pm();
    expect(w.p.acpiEnabled).toBe(false);
    w.ports.write(SMI_CMD, 1, 0xa0);
    expect(w.p.acpiEnabled).toBe(true);
    expect(w.ports.read(PM1A_CNT_ADDR, 2) & 1).toBe(1);
    w.ports.write(PM1A_CNT_ADDR, 2, 0); // OSPM cannot clear SCI_EN
    expect(w.ports.read(PM1A_CNT_ADDR, 2) & 1).toBe(1);
    w.p.pressPowerButton();
    expect(w.irq.events).toEqual([]); // not enabled yet
    w.ports.write(PM1A_EVT_ADDR + 2, 2, 0xffff);
    expect(w.ports.read(PM1A_EVT_ADDR + 2, 2)).toBe(0x0520); // RTC_EN | PWRBTN_EN | GBL_EN only
    expect(w.irq.events).toEqual(['isa+9/9']);
    expect(w.ports.read(PM1A_EVT_ADDR, 2)).toBe(0x0100);
    w.ports.write(PM1A_EVT_ADDR, 2, 0x0100); // W1C
    expect(w.irq.events).toEqual(['isa+9/9', 'isa-9/9']);
    w.ports.write(SMI_CMD, 1, 0xa1);
    expect(w.p.acpiEnabled).toBe(false);
  });

  it('drives the SCI from GPE0 and refuses wrong access widths', () => {
    const w = pm();
    w.ports.write(IO_GPE0_BLK + 1, 1, 0xff);
    expect(w.ports.read(IO_GPE0_BLK + 1, 1)).toBe(1);
    w.p.raiseGpe(0);
    expect(w.irq.events).toEqual(['isa+9/9']);
    w.ports.write(IO_GPE0_BLK, 1, 1);
    expect(w.irq.events).toEqual(['isa+9/9', 'isa-9/9']);
    expect(w.ports.claims(PM1A_EVT_ADDR, 4)).toBe(false);
    expect(w.ports.read(PM1A_EVT_ADDR, 1)).toBe(0xff);
    expect(w.ports.claims(IO_GPE0_BLK, 2)).toBe(false);
    expect(() => w.p.raiseGpe(3)).toThrow(RangeError);
  });
});

describe('reset paths', () => {
  it('resets through 0xCF9 bit 2, reached through the PCI 0xCF8 block', () => {
    const w = world();
    const rc = new ResetControl(w.control);
    const host = new PciHost({ ports: w.ports, mmio: w.mmio, irq: w.irq, log: w.log, highMem: 0, resetControl: rc });
    host.registerConfigAccess(1 << 28);
    w.ports.write(0xcf9, 1, 0x02);
    expect(w.ports.read(0xcf9, 1)).toBe(0x02);
    expect(w.control.stop).toBeUndefined();
    const out = handleExit({ ports: w.ports, mmio: w.mmio, control: w.control, strictIo: false }, { kind: 'inout', port: 0xcf9, size: 1, direction: 'out', value: 0x06 });
    expect(out).toEqual({ action: 'stop', status: 0, reason: 'reset' });
  });

  it('resets through the 8042 and answers its self tests', () => {
    const w = world();
    const k = new Atkbdc(w.control);
    w.ports.register(KBD_DATA_PORT, 1, k.dataPort);
    w.ports.register(KBD_STS_CTL_PORT, 1, k.statusPort);
    expect(w.ports.read(KBD_STS_CTL_PORT, 1) & 0x05).toBe(0x04);
    w.ports.write(KBD_STS_CTL_PORT, 1, 0xaa);
    expect(w.ports.read(KBD_STS_CTL_PORT, 1) & 1).toBe(1);
    expect(w.ports.read(KBD_DATA_PORT, 1)).toBe(0x55);
    w.ports.write(KBD_STS_CTL_PORT, 1, 0x60);
    w.ports.write(KBD_DATA_PORT, 1, 0x47);
    w.ports.write(KBD_STS_CTL_PORT, 1, 0x20);
    expect(w.ports.read(KBD_DATA_PORT, 1)).toBe(0x47);
    expect(w.control.stop).toBeUndefined();
    w.ports.write(KBD_STS_CTL_PORT, 1, 0xfe);
    expect(w.control.stop).toEqual({ status: 0, reason: 'reset' });
  });
});

describe('pc-testdev', () => {
  function dev() {
    const w = world();
    const t = new PcTestDev(w.control, w.irq, 32);
    w.ports.register(DEBUGEXIT_BASE, 4, t.debugExit);
    w.ports.register(IOPORT_BASE, 4, t.ioport);
    w.ports.register(IRQ_BASE, 32, t.irqLines);
    w.mmio.register(IOMEM_BASE, 0x10000, t.memory);
    return { ...w, t };
  }

  it('exits with (v << 1) | 1 on isa-debug-exit', () => {
    for (const [v, status] of [[0, 1], [1, 3], [0x7f, 0xff], [0x80, 1]] as const) {
      const w = dev();
      w.ports.write(DEBUGEXIT_BASE, 1, v);
      expect(w.control.stop?.status).toBe(status);
    }
    const w = dev();
    w.ports.write(DEBUGEXIT_BASE, 4, 0x12345601);
    expect(w.control.stop?.status).toBe(3);
  });

  it('keeps a scratch register at any width, drives IRQ lines and scratch memory', () => {
    const w = dev();
    w.ports.write(IOPORT_BASE, 4, 0x11223344);
    w.ports.write(IOPORT_BASE + 1, 1, 0xaa);
    expect(w.ports.read(IOPORT_BASE, 4)).toBe(0x1122aa44);
    expect(w.ports.read(IOPORT_BASE + 2, 2)).toBe(0x1122);
    w.ports.write(IRQ_BASE + 10, 1, 1);
    w.ports.write(IRQ_BASE + 10, 1, 0);
    w.ports.write(IRQ_BASE + 20, 1, 1);
    expect(w.irq.events).toEqual(['isa+10/10', 'isa-10/10', 'ioapic+20']);
    w.mmio.write(IOMEM_BASE + 0xfffc, 4, 0xcafef00d);
    expect(w.mmio.read(IOMEM_BASE + 0xfffe, 2)).toBe(0xcafe);
    expect(() => new PcTestDev(w.control, w.irq, 16)).toThrow('Unsupported IOAPIC pin count: 16');
  });

  it('aliases the scratch register at 0xE8 and accepts 32-bit flush-page writes at 0xE4 (kvm-unit-tests)', () => {
    const w = dev();
    w.ports.register(FLUSH_PAGE_PORT, 4, w.t.flushPage);
    w.ports.register(IOPORT_BYTE_BASE, 4, w.t.ioport);
    w.ports.write(IOPORT_BYTE_BASE, 4, 0xdeadbeef);
    expect(w.ports.read(IOPORT_BASE, 4)).toBe(0xdeadbeef);
    w.ports.write(IOPORT_BASE + 3, 1, 0x12);
    expect(w.ports.read(IOPORT_BYTE_BASE + 3, 1)).toBe(0x12);
    expect(w.ports.read(IOPORT_BYTE_BASE, 2)).toBe(0xbeef);
    w.ports.write(FLUSH_PAGE_PORT, 4, 0x123000);
    expect(w.ports.read(FLUSH_PAGE_PORT, 4)).toBe(0);
    expect(w.ports.claims(FLUSH_PAGE_PORT, 1)).toBe(false);
    expect(w.ports.unclaimedWrites).toBe(0);
  });

  it('leaves POST port 0x84 reading 0xff and swallows port 0x80', () => {
    const w = world();
    const p = new PostPorts();
    w.ports.register(0x80, 1, p.code);
    w.ports.register(0x84, 1, p.data);
    w.ports.write(0x80, 1, 0x42);
    expect(p.lastCode).toBe(0x42);
    expect(w.ports.read(0x84, 1)).toBe(0xff);
    expect(w.ports.unclaimedWrites).toBe(0);
  });
});

describe('firmware configuration interfaces', () => {
  function readItem(ports: PortBus, sel: number, n: number): number[] {
    ports.write(FWCFG_SELECTOR_PORT, 2, sel);
    return Array.from({ length: n }, () => ports.read(0x511, 1));
  }

  it('serves QEMU fw_cfg signature, CPU count, a sorted directory and files', () => {
    const w = world();
    const f = new QemuFwCfg(4, 0x1_4000_0000);
    w.ports.register(0x510, 2, f.ports);
    const e820 = encodeE820([
      { base: 0, length: 0xa0000, type: 1 },
      { base: 0x100000, length: 0x3ff00000, type: 1 },
    ]);
    f.addFile('opt/bhyve/hw.ncpu', Uint8Array.of(4, 0, 0, 0));
    f.addFile('etc/e820', e820);
    expect(String.fromCharCode(...readItem(w.ports, 0, 4))).toBe('QEMU');
    expect(readItem(w.ports, 1, 4)).toEqual([1, 0, 0, 0]);
    expect(readItem(w.ports, 5, 2)).toEqual([4, 0]);
    expect(readItem(w.ports, 3, 8)).toEqual([0, 0, 0, 0x40, 1, 0, 0, 0]); // RAM size, u64 LE
    expect(readItem(w.ports, 0x11, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]); // kvm-unit-tests' MAX_RAM: none
    const dir = Uint8Array.from(readItem(w.ports, 0x19, 4 + 128));
    const dv = new DataView(dir.buffer);
    expect(dv.getUint32(0, false)).toBe(2);
    expect(Buffer.from(dir.subarray(12, 20)).toString()).toBe('etc/e820');
    expect(dv.getUint32(4, false)).toBe(40);
    expect(dv.getUint16(8, false)).toBe(0x21);
    expect(Buffer.from(dir.subarray(76, 93)).toString()).toBe('opt/bhyve/hw.ncpu');
    const got = Uint8Array.from(readItem(w.ports, 0x21, 42));
    expect(got.subarray(0, 40)).toEqual(e820);
    expect([...got.subarray(40)]).toEqual([0, 0]); // past the end reads 0
    expect(readItem(w.ports, 0x8001, 1)).toEqual([0]); // arch-specific: absent
    expect(w.ports.read(0x510, 2)).toBe(0x8001);
    expect(w.ports.claims(0x511, 2)).toBe(false);
    expect(() => f.addFile('x'.repeat(56), new Uint8Array(1))).toThrow(/too long/);
    expect(() => f.addFile('etc/e820', new Uint8Array(1))).toThrow(/already exists/);
  });

  it('answers fwctl identification and hw.ncpu requests', () => {
    const w = world();
    const f = new Fwctl(6);
    w.ports.register(0x510, 5, f.ports);
    w.ports.write(0x510, 2, 0);
    expect(String.fromCharCode(...[0, 1, 2, 3].map(() => w.ports.read(0x511, 1)))).toBe('BHYV');
    const name = Buffer.alloc(8);
    name.write('hw.ncpu');
    const req = [12 + 8, 3, 77, name.readUInt32LE(0), name.readUInt32LE(4)];
    for (const v of req) w.ports.write(0x510, 4, v);
    const resp = Array.from({ length: 7 }, () => w.ports.read(0x511, 4));
    expect(resp).toEqual([28, 3, 77, 0, 4, 0, 6]);
    for (const v of [16, 4, 78, 0x64636261]) w.ports.write(0x510, 4, v); // GET_LEN "abcd": unknown
    expect(Array.from({ length: 4 }, () => w.ports.read(0x511, 4))).toEqual([16, 4, 78, 2]);
    for (const v of [4, 1, 79]) w.ports.write(0x510, 4, v); // undersized
    expect(Array.from({ length: 4 }, () => w.ports.read(0x511, 4))).toEqual([16, 1, 79, 22]);
  });
});
