/**
 * The DSDT of a tsbhyve VM, encoded directly as AML (no iasl), with the content bhyve
 * writes (pci_emul.c pci_write_dsdt, pci_lpc.c, pci_irq.c pirq_dsdt, uart and rtc DSDT
 * fragments, acpi.c; bhyve-userland.md §5.4, §5.5):
 *
 * - `_S5` = {5, 0, 0, 0} (matches the PM1 SLP_TYP the poweroff logic checks), `PICM`
 *   and `_PIC` selecting the PIC or APIC form of `_PRT`.
 * - One root bridge `\_SB.PCxx` (PNP0A03, `_BBN`/`_UID` = bus) per bus with devices (and
 *   always PC00), `_CRS` with the bus number, the config ports and legacy I/O (bus 0) and
 *   the bus's I/O, MEM32 and MEM64 windows; `PPRT`/`APRT`/`_PRT` for its INTx routes.
 * - With the LPC bridge: `ISA` (`_ADR` = slot<<16|func) with the PIRQ registers as a
 *   PCI_Config field, `SIO` (PNP0C02) reserving fixed ports and ECAM, COM1-COM4
 *   (PNP0501), PIRV and link devices LNKA-LNKH (PNP0C0F) with _STA/_PRS/_CRS/_DIS/_SRS,
 *   PIC (PNP0000), TIMR (PNP0100), RTC (PNP0B00).
 * - HPET (PNP0103) under PC00, and the QEMU fw_cfg device (QEMU0002) when enabled.
 *
 * The power button is ACPI's fixed feature (FADT PWR_BUTTON clear), which is what
 * SIGTERM drives through PM1 PWRBTN_STS, so no control-method button device is needed.
 */
import * as A from './aml.js';
import * as R from './resources.js';

export interface DsdtBus {
  bus: number;
  /** Resource windows assigned to the bus (absent: no devices on it). */
  windows?: { iobase: number; iolimit: number; membase32: number; memlimit32: number; membase64: number; memlimit64: number };
  routes: Array<{ slot: number; pin: number; link: number; ioapicPin: number }>;
}

export interface DsdtInput {
  buses: DsdtBus[];
  /** The LPC bridge's address, if there is one (bus 0). */
  lpc?: { slot: number; func: number };
  comPorts: ReadonlyArray<{ name: string; base: number; irq: number }>;
  qemuFwCfg: boolean;
  ecam: { base: number; size: number };
  /** ISA IRQs a PIRQ link may be routed to (_PRS). */
  pirqIrqs: number[];
  /** First port of the PCI I/O window (bus 0's legacy range ends just below it). */
  pciIoBase: number;
  ids: A.TableIds;
}

const LINK = 'ABCDEFGH';

function linkDevice(pin: number, irqs: number[]): A.Aml {
  const L = LINK[pin]!;
  const pir = `PIR${L}`;
  const cb = `CB0${pin + 1}`;
  return A.device(
    `LNK${L}`,
    A.name('_HID', A.eisaId('PNP0C0F')),
    A.name('_UID', A.int(pin + 1)),
    A.method('_STA', 0, false, A.ifThen(A.concat(A.ref('PIRV'), A.ref(pir)), A.ret(A.int(0x0b))), A.elseDo(A.ret(A.int(0x09)))),
    A.name('_PRS', R.resourceTemplate(R.irqLevelLowShared(...irqs))),
    A.name(cb, R.resourceTemplate(R.irqLevelLowShared())),
    A.createWordField(A.ref(cb), A.One, `CIR${L}`),
    A.method(
      '_CRS',
      0,
      false,
      A.and(A.ref(pir), A.int(0x8f), A.Local(0)),
      A.ifThen(A.concat(A.ref('PIRV'), A.Local(0)), A.shiftLeft(A.One, A.Local(0), A.ref(`CIR${L}`))),
      A.elseDo(A.store(A.Zero, A.ref(`CIR${L}`))),
      A.ret(A.ref(cb)),
    ),
    A.method('_DIS', 0, false, A.store(A.int(0x80), A.ref(pir))),
    A.method(
      '_SRS',
      1,
      false,
      A.createWordField(A.Arg(0), A.One, `SIR${L}`),
      A.findSetRightBit(A.ref(`SIR${L}`), A.Local(0)),
      A.store(A.decrement(A.Local(0)), A.ref(pir)),
    ),
  );
}

/** pirq_dsdt's PIRV: whether a link register holds a usable IRQ. */
function pirv(): A.Aml {
  return A.method(
    'PIRV',
    1,
    false,
    A.ifThen(A.and(A.Arg(0), A.int(0x80)), A.ret(A.Zero)),
    A.and(A.Arg(0), A.int(0x0f), A.Local(0)),
    A.ifThen(A.lLess(A.Local(0), A.int(3)), A.ret(A.Zero)),
    A.ifThen(A.lEqual(A.Local(0), A.int(8)), A.ret(A.Zero)),
    A.ifThen(A.lEqual(A.Local(0), A.int(0x0d)), A.ret(A.Zero)),
    A.ret(A.One),
  );
}

function isaDevice(input: DsdtInput): A.Aml {
  const lpc = input.lpc!;
  const field = A.field('LPCR', [
    { offset: 0x60 },
    { name: 'PIRA', bits: 8 },
    { name: 'PIRB', bits: 8 },
    { name: 'PIRC', bits: 8 },
    { name: 'PIRD', bits: 8 },
    { offset: 0x68 },
    { name: 'PIRE', bits: 8 },
    { name: 'PIRF', bits: 8 },
    { name: 'PIRG', bits: 8 },
    { name: 'PIRH', bits: 8 },
  ]);
  const sio = A.device(
    'SIO',
    A.name('_HID', A.eisaId('PNP0C02')),
    A.name(
      '_CRS',
      R.resourceTemplate(
        R.fixedIoPort(0x4d0, 2), // ELCR
        R.fixedIoPort(0x61, 1), // NMI status/control
        R.fixedIoPort(0x80, 1), // POST code
        R.fixedIoPort(0x84, 1), // POST data
        R.fixedIoPort(0xb2, 1), // SMI_CMD
        R.fixedIoPort(0x400, 8), // PM1a event + control, PM timer
        R.fixedIoPort(0x40c, 2), // GPE0
        R.memory32Fixed(input.ecam.base, input.ecam.size),
      ),
    ),
  );
  const coms = input.comPorts.map((c, i) =>
    A.device(
      c.name.toUpperCase(),
      A.name('_HID', A.eisaId('PNP0501')),
      A.name('_UID', A.int(i + 1)),
      A.name('_CRS', R.resourceTemplate(R.fixedIoPort(c.base, 8), R.irqNoFlags(c.irq))),
    ),
  );
  const links = Array.from({ length: 8 }, (_, p) => linkDevice(p, input.pirqIrqs));
  return A.device(
    'ISA',
    A.name('_ADR', A.int(lpc.slot * 0x10000 + lpc.func)),
    A.operationRegion('LPCR', A.RegionSpace.PCI_Config, 0, 0x100),
    field,
    sio,
    ...coms,
    pirv(),
    ...links,
    A.device(
      'PIC',
      A.name('_HID', A.eisaId('PNP0000')),
      A.name('_CRS', R.resourceTemplate(R.fixedIoPort(0x20, 2), R.fixedIoPort(0xa0, 2), R.irqNoFlags(2))),
    ),
    A.device('TIMR', A.name('_HID', A.eisaId('PNP0100')), A.name('_CRS', R.resourceTemplate(R.fixedIoPort(0x40, 4), R.irqNoFlags(0)))),
    A.device('RTC', A.name('_HID', A.eisaId('PNP0B00')), A.name('_CRS', R.resourceTemplate(R.fixedIoPort(0x70, 2), R.irqNoFlags(8)))),
  );
}

function busDevice(input: DsdtInput, b: DsdtBus): A.Aml {
  const devName = `PC${b.bus.toString(16).toUpperCase().padStart(2, '0')}`;
  const crs: A.Aml[] = [R.wordBusNumber(b.bus, b.bus)];
  if (b.bus === 0) {
    crs.push(R.fixedIoPort(0xcf8, 8), R.wordIo(0x0000, 0x0cf7), R.wordIo(0x0d00, input.pciIoBase - 1));
  }
  const w = b.windows;
  if (w) {
    crs.push(R.wordIo(w.iobase, w.iolimit - 1), R.dwordMemory(w.membase32, w.memlimit32 - 1), R.qwordMemory(w.membase64, w.memlimit64 - 1));
  }
  const body: A.Aml[] = [
    A.name('_HID', A.eisaId('PNP0A03')),
    A.name('_ADR', A.Zero),
    A.name('_UID', A.int(b.bus)),
    A.method('_BBN', 0, false, A.ret(A.dword(b.bus))),
    A.name('_CRS', R.resourceTemplate(...crs)),
  ];
  if (b.routes.length > 0) {
    const addr = (slot: number) => A.dword(slot * 0x10000 + 0xffff);
    const pprt = input.lpc
      ? b.routes.map((r) => A.packageOf(addr(r.slot), A.int(r.pin - 1), A.ref(`\\_SB.PC00.ISA.LNK${LINK[r.link - 1]!}`), A.Zero))
      : [];
    const aprt = b.routes.map((r) => A.packageOf(addr(r.slot), A.int(r.pin - 1), A.Zero, A.int(r.ioapicPin)));
    body.push(
      A.name('PPRT', A.packageOf(...pprt)),
      A.name('APRT', A.packageOf(...aprt)),
      A.method('_PRT', 0, false, A.ifThen(A.ref('PICM'), A.ret(A.ref('APRT'))), A.elseDo(A.ret(A.ref('PPRT')))),
    );
  }
  if (b.bus === 0 && input.lpc) body.push(isaDevice(input));
  return A.device(devName, ...body);
}

export function buildDsdt(input: DsdtInput): Uint8Array {
  const buses = [...input.buses];
  if (!buses.some((b) => b.bus === 0)) buses.unshift({ bus: 0, routes: [] });
  buses.sort((a, b) => a.bus - b.bus);
  const sb: A.Aml[] = buses.map((b) => busDevice(input, b));
  if (input.qemuFwCfg) {
    sb.push(A.device('FWCF', A.name('_HID', A.string('QEMU0002')), A.name('_CRS', R.resourceTemplate(R.fixedIoPort(0x510, 2)))));
  }
  return A.definitionBlock(
    'DSDT',
    2,
    input.ids,
    A.name('_S5', A.packageOf(A.int(5), A.Zero, A.Zero, A.Zero)),
    A.name('PICM', A.Zero),
    A.method('_PIC', 1, false, A.store(A.Arg(0), A.ref('PICM'))),
    A.scope('\\_SB', ...sb),
    A.scope(
      '\\_SB.PC00',
      A.device(
        'HPET',
        A.name('_HID', A.eisaId('PNP0103')),
        A.name('_UID', A.Zero),
        A.name('_CRS', R.resourceTemplate(R.dwordMemory(0xfed0_0000, 0xfed0_03ff, false))),
      ),
    ),
  );
}
