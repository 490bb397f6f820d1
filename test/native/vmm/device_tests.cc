// Unit tests and a fuzzer for the in-vmm devices (native/vmm/devices), without a CPU:
// each device is driven through its register interface with a recording InterruptRouter
// and VcpuEvents, so expectations are checked exactly. Built with ASan and UBSan by
// test/native/vmm/devices.test.ts; the fuzz phase throws fully random offsets, sizes,
// values, pins and MSRs at every device (also from a second thread while timers run) and
// passes when nothing crashes, hangs or trips a sanitizer.
//
// Output: one "ok <name>" line per passing check, "FAIL <name>: <detail>" otherwise, and
// "ALL PASS" at the end when every check passed (exit status 0).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "vmm/clock.h"
#include "vmm/devices/vatpic.h"
#include "vmm/devices/vatpit.h"
#include "vmm/devices/vhpet.h"
#include "vmm/devices/vioapic.h"
#include "vmm/devices/vlapic.h"
#include "vmm/devices/vlapic_regs.h"
#include "vmm/devices/vpmtmr.h"
#include "vmm/devices/vrtc.h"
#include "vmm/timer.h"

using namespace tsvirt::vmm;

namespace {

int failures = 0;

// Polls cond for up to a second (a loaded host may keep the timer thread waiting).
template <typename F>
bool eventually(F cond) {
  for (int i = 0; i < 1000; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return cond();
}

// Ticks per second of a counter read around a sleep, against the host clock.
template <typename F>
double rate(F read, int ms) {
  uint64_t t0 = monotonic_ns();
  uint64_t c0 = read();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  uint64_t c1 = read();
  uint64_t t1 = monotonic_ns();
  return static_cast<double>(c1 - c0) * 1e9 / static_cast<double>(t1 - t0);
}

void check(bool ok, const char* name, const std::string& detail = "") {
  if (ok) {
    std::printf("ok %s\n", name);
  } else {
    ++failures;
    std::printf("FAIL %s: %s\n", name, detail.c_str());
  }
}

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

// Records what devices send; optionally forwards APIC messages to one vlapic.
struct Router final : InterruptRouter {
  std::atomic<int> messages{0}, eois{0}, isa{0}, ioapic{0}, msis{0}, pic_raises{0};
  ApicMessage last{};
  Vlapic* lapic = nullptr;
  Vioapic* io = nullptr;
  void apic_deliver(const ApicMessage& m) override {
    ++messages;
    last = m;
    if (lapic && (m.mode == kDmFixed || m.mode == kDmLowestPriority)) {
      if (m.shorthand != kShNone || m.dest == 0xFF || lapic->match_physical(m.dest, m.dest_x2apic) ||
          (m.dest_logical && lapic->match_logical(m.dest, m.dest_x2apic))) {
        lapic->accept_fixed(m.vector, m.level_trigger);
      }
    }
  }
  void ioapic_eoi(int vector) override {
    ++eois;
    if (io) io->eoi(vector);
  }
  void isa_irq(int, int, IrqOp) override { ++isa; }
  void ioapic_irq(int, IrqOp) override { ++ioapic; }
  void msi(uint64_t, uint64_t) override { ++msis; }
  void pic_output(bool) override { ++pic_raises; }
};

struct Events final : VcpuEvents {
  std::atomic<int> pending{0}, nmis{0}, extints{0}, inits{0}, sipis{0};
  std::atomic<uint64_t> tsc{1000000};
  void on_interrupt_pending() override { ++pending; }
  void on_nmi() override { ++nmis; }
  void on_extint() override { ++extints; }
  void on_init() override { ++inits; }
  void on_sipi(uint8_t) override { ++sipis; }
  uint64_t guest_tsc() override { return tsc; }
  uint64_t tsc_hz() override { return 1000000000ull; }
};

constexpr uint64_t kApic = 0xFEE00000ull;
uint32_t rd(Vlapic& l, uint32_t reg) { return static_cast<uint32_t>(l.mmio_read(kApic + reg, 4)); }
void wr(Vlapic& l, uint32_t reg, uint32_t v) { l.mmio_write(kApic + reg, 4, v); }

void test_vlapic() {
  TimerService timers;
  timers.start();
  Router router;
  Events ev;
  Vlapic l(3, false, true, true, router, timers, ev);
  router.lapic = &l;
  check(rd(l, apic::kId) == (3u << 24), "vlapic: xAPIC ID in bits 31:24");
  check(rd(l, apic::kVer) == 0x00060014u, "vlapic: version 0x14, max LVT 6", hex(rd(l, apic::kVer)));
  check(rd(l, apic::kSvr) == 0xFF, "vlapic: SVR resets to 0xFF (software disabled)");
  check(rd(l, apic::kLvtTimer) == apic::kLvtMasked, "vlapic: LVTs reset masked");
  l.accept_fixed(0x40, false);
  check(l.pending_vector() == -1, "vlapic: software-disabled APIC drops fixed interrupts");
  wr(l, apic::kSvr, 0x1FF);
  l.accept_fixed(0x40, false);
  l.accept_fixed(0x51, true);
  check(l.pending_vector() == 0x51, "vlapic: highest IRR vector is pending");
  l.ack(0x51);
  check(rd(l, apic::kPpr) == 0x50, "vlapic: PPR follows the in-service class", hex(rd(l, apic::kPpr)));
  check(l.pending_vector() == -1, "vlapic: a lower class waits for EOI");
  check(rd(l, apic::kTmr0 + 0x20) & (1u << (0x51 & 31)), "vlapic: TMR marks the level vector");
  wr(l, apic::kEoi, 0);
  check(router.eois == 1, "vlapic: EOI of a level vector is broadcast to the I/O APIC");
  check(l.pending_vector() == 0x40, "vlapic: EOI lets the next vector through");
  wr(l, apic::kTpr, 0x40);
  check(l.pending_vector() == -1, "vlapic: TPR blocks its own class");
  l.write_cr8(0);
  check(l.pending_vector() == 0x40 && rd(l, apic::kTpr) == 0, "vlapic: CR8 writes the TPR");
  l.ack(0x40);
  wr(l, apic::kEoi, 0);
  check(router.eois == 1, "vlapic: EOI of an edge vector is not broadcast");
  // Illegal vectors set ESR bits.
  l.accept_fixed(5, false);
  wr(l, apic::kEsr, 0);
  check(rd(l, apic::kEsr) & apic::kEsrRecvIllegalVector, "vlapic: receive illegal vector in ESR");
  wr(l, apic::kIcrLo, 0x4005);  // fixed, vector 5, self via destination 3
  wr(l, apic::kEsr, 0);
  check(rd(l, apic::kEsr) & apic::kEsrSendIllegalVector, "vlapic: send illegal vector in ESR");
  // Self IPI through the ICR.
  wr(l, apic::kIcrHi, 3u << 24);
  wr(l, apic::kIcrLo, 0x61);
  check(l.pending_vector() == 0x61 && router.last.dest == 3, "vlapic: physical IPI to itself");
  l.ack(0x61);
  wr(l, apic::kEoi, 0);
  // Logical destinations.
  wr(l, apic::kLdr, 0x08000000);
  check(l.match_logical(0x08, false) && !l.match_logical(0x04, false), "vlapic: flat logical match");
  wr(l, apic::kDfr, 0x0FFFFFFF);
  wr(l, apic::kLdr, 0x21000000);
  check(l.match_logical(0x21, false) && !l.match_logical(0x11, false), "vlapic: cluster logical match");
  // x2APIC state machine.
  uint64_t v;
  check(!l.rdmsr(0x802, &v), "vlapic: x2APIC MSRs #GP in xAPIC mode");
  check(!l.wrmsr(0x1B, 0xFEE00000ull | (1u << 10)), "vlapic: EXTD without EN is invalid");
  check(l.wrmsr(0x1B, 0xFEE00C00ull), "vlapic: xAPIC -> x2APIC");
  check(l.rdmsr(0x802, &v) && v == 3, "vlapic: x2APIC ID is the full id");
  check(l.rdmsr(0x80D, &v) && v == ((0u << 16) | (1u << 3)), "vlapic: x2APIC LDR derived from the id", hex(v));
  check(!l.wrmsr(0x80D, 1), "vlapic: x2APIC LDR is read-only");
  check(!l.wrmsr(0x80B, 1), "vlapic: x2APIC EOI with a non-zero value is #GP");
  check(!l.wrmsr(0x1B, 0xFEE00800ull), "vlapic: x2APIC -> xAPIC is illegal");
  check(!l.claims(kApic), "vlapic: no MMIO decode in x2APIC mode");
  check(l.wrmsr(0x1B, 0xFEE00000ull), "vlapic: disable");
  check(l.wrmsr(0x1B, 0xFEE00800ull) && l.claims(kApic + 0x20), "vlapic: re-enable in xAPIC mode");
  check(!l.wrmsr(0x1B, 1ull << 60), "vlapic: reserved base bits are #GP");
  // Timer: one-shot counts down, fires once, at 128 MiHz / divisor.
  wr(l, apic::kSvr, 0x1FF);
  wr(l, apic::kTimerDcr, 0xB);
  wr(l, apic::kLvtTimer, 0x70);
  wr(l, apic::kTimerIcr, 128u * 1024 * 1024 / 200);  // 5 ms
  uint32_t c1 = rd(l, apic::kTimerCcr);
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  uint32_t c2 = rd(l, apic::kTimerCcr);
  check(c2 < c1, "vlapic: current count decreases");
  check(eventually([&] { return l.pending_vector() == 0x70; }) && rd(l, apic::kTimerCcr) == 0,
        "vlapic: one-shot fired");
  l.ack(0x70);
  wr(l, apic::kEoi, 0);
  // TSC deadline: a deadline in the past fires at once.
  wr(l, apic::kLvtTimer, 0x71 | (2u << 17));
  check(l.wrmsr(0x6E0, 5) && l.pending_vector() == 0x71, "vlapic: past TSC deadline fires at once");
  l.rdmsr(0x6E0, &v);
  check(v == 0, "vlapic: TSC deadline reads 0 after firing");
  l.ack(0x71);
  wr(l, apic::kEoi, 0);
  // Periodic ticks owed on a late host are delivered on EOI.
  wr(l, apic::kLvtTimer, 0x72 | (1u << 17));
  wr(l, apic::kTimerIcr, 128u * 1024 * 1024 / 5000);  // 200 us
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // Take ticks as fast as they come: the 100 periods of those 20 ms are owed and arrive
  // one per EOI, however late the timer thread ran.
  int delivered = 0;
  eventually([&] {
    while (l.pending_vector() == 0x72 && delivered < 60) {
      l.ack(0x72);
      wr(l, apic::kEoi, 0);
      ++delivered;
    }
    return delivered > 50;
  });
  check(delivered > 50, "vlapic: owed periodic ticks arrive one per EOI", std::to_string(delivered));
  wr(l, apic::kTimerIcr, 0);
  // Software disable masks every LVT.
  wr(l, apic::kSvr, 0xFF);
  check(rd(l, apic::kLvtLint0) & apic::kLvtMasked, "vlapic: software disable masks LVTs");
  wr(l, apic::kLvtLint0, 0x700);
  check(rd(l, apic::kLvtLint0) & apic::kLvtMasked, "vlapic: LVTs stay masked while disabled");
  wr(l, apic::kSvr, 0x1FF);
  wr(l, apic::kLvtLint0, 0x700);
  check(l.accepts_extint(), "vlapic: LINT0 in ExtINT mode accepts the 8259");
  l.local_irq(Vlapic::kLint0);
  check(ev.extints >= 1, "vlapic: LINT0 ExtINT raises the vCPU's INTR");
  wr(l, apic::kLvtLint1, 0x400);
  l.local_irq(Vlapic::kLint1);
  check(ev.nmis >= 1, "vlapic: LINT1 in NMI mode raises an NMI");
  timers.stop();
}

void test_vioapic() {
  Router router;
  Vioapic io(router);
  router.io = &io;
  auto sel = [&](uint32_t r) { io.mmio_write(0, 4, r); };
  auto win = [&](uint32_t v) { io.mmio_write(0x10, 4, v); };
  sel(1);
  check(io.mmio_read(0x10, 4) == 0x001F0011, "vioapic: version 0x11, 32 pins");
  sel(0x10 + 2 * 4);
  win(0x41 | (1u << 15));  // level, unmasked, vector 0x41
  io.pin(4, IrqOp::kAssert);
  check(router.messages == 1 && router.last.vector == 0x41 && router.last.level_trigger,
        "vioapic: level pin delivers");
  io.pin(4, IrqOp::kAssert);
  check(router.messages == 1, "vioapic: remote IRR holds a level pin");
  sel(0x10 + 2 * 4);
  check(io.mmio_read(0x10, 4) & (1u << 14), "vioapic: remote IRR visible");
  io.eoi(0x41);
  check(router.messages == 2, "vioapic: EOI re-delivers a still-asserted level pin");
  io.pin(4, IrqOp::kDeassert);
  io.pin(4, IrqOp::kDeassert);
  io.mmio_write(0x40, 4, 0x41);  // EOI register
  sel(0x10 + 2 * 4);
  check(!(io.mmio_read(0x10, 4) & (1u << 14)), "vioapic: EOI register clears remote IRR");
  sel(0x10 + 2 * 9);
  win(0x42);  // edge
  io.pin(9, IrqOp::kPulse);
  io.pin(9, IrqOp::kPulse);
  check(router.messages == 4, "vioapic: each edge pulse delivers");
  check(!io.pin(32, IrqOp::kAssert) && !io.pin(-1, IrqOp::kAssert), "vioapic: pins outside 0..31 refused");
  check(io.mmio_read(0x10, 2) == 0 && io.mmio_read(0x10, 1) == 0, "vioapic: only 32-bit accesses");
}

void test_vatpic() {
  Router router;
  Vatpic pic(router);
  auto out = [&](uint16_t p, uint8_t v) { pic.port_out(p, 1, v); };
  out(0x20, 0x11); out(0x21, 0x20); out(0x21, 0x04); out(0x21, 0x01);
  out(0xA0, 0x11); out(0xA1, 0x28); out(0xA1, 0x02); out(0xA1, 0x01);
  out(0x21, 0xF0); out(0xA1, 0xFB);  // master 0-3 open, slave IRQ 10 open
  pic.irq(3, IrqOp::kPulse);
  check(pic.output() && pic.pending_vector() == 0x23 && router.pic_raises == 1,
        "vatpic: IRQ 3 raises INT with vector 0x23");
  pic.irq(1, IrqOp::kPulse);
  check(pic.pending_vector() == 0x21, "vatpic: IRQ 1 has priority over IRQ 3");
  check(pic.ack() == 0x21, "vatpic: INTA returns the vector");
  check(pic.pending_vector() == -1, "vatpic: IRQ 1 in service blocks IRQ 3");
  out(0x20, 0x20);
  check(pic.ack() == 0x23, "vatpic: after EOI IRQ 3 follows");
  out(0x20, 0x20);
  pic.irq(10, IrqOp::kPulse);
  check(pic.pending_vector() == 0x2A, "vatpic: slave IRQ 10 through the cascade");
  check(pic.ack() == 0x2A, "vatpic: slave INTA");
  out(0xA0, 0x20); out(0x20, 0x20);
  check(pic.ack() == 0x27, "vatpic: INTA with nothing pending returns spurious IRQ 7");
  out(0x20, 0x0B);
  check(pic.port_in(0x20, 1) == 0, "vatpic: spurious INTA leaves ISR clear");
  check(!pic.set_trigger(0, true) && !pic.set_trigger(8, true) && pic.set_trigger(11, true),
        "vatpic: ELCR refuses level for IRQ 0, 1, 2, 8, 13");
  check(!pic.irq(16, IrqOp::kAssert), "vatpic: IRQ 16 refused");
}

void test_vatpit() {
  Router router;
  TimerService timers;
  timers.start();
  Vatpit pit(router, timers);
  pit.port_out(0x43, 1, 0x34);  // counter 0, LSB/MSB, mode 2
  pit.port_out(0x40, 1, 0x9C);
  pit.port_out(0x40, 1, 0x2E);  // 11932: 100 Hz
  pit.port_out(0x43, 1, 0x00);  // latch
  uint32_t c = pit.port_in(0x40, 1) | (pit.port_in(0x40, 1) << 8);
  check(c > 0 && c <= 11932, "vatpit: latched count within the period", std::to_string(c));
  pit.port_out(0x43, 1, 0xE2);  // read-back status of counter 0
  check((pit.port_in(0x40, 1) & 0x3F) == 0x34, "vatpit: read-back status");
  // The period count is the programmed rate whatever the host's load (periods due after
  // the last callback are not counted yet, hence the lower margin).
  double hz = rate([&] { return pit.periods(); }, 300);
  check(hz > 80 && hz < 106, "vatpit: 100 Hz periods on counter 0", std::to_string(hz));
  check(eventually([&] { return router.isa >= 1; }) && pit.irqs() <= pit.periods(),
        "vatpit: pulses ISA IRQ 0, never more than once a period");
  pit.port_out(0x61, 1, 0x01);
  pit.port_out(0x43, 1, 0xB0);  // counter 2 mode 0
  pit.port_out(0x42, 1, 0x40);
  pit.port_out(0x42, 1, 0x00);  // 64 ticks: 54 us
  check(!(pit.port_in(0x61, 1) & 0x20), "vatpit: counter 2 output low while counting");
  check(eventually([&] { return (pit.port_in(0x61, 1) & 0x20) != 0; }),
        "vatpit: counter 2 output high at terminal count");
  timers.stop();
}

void test_vrtc() {
  Router router;
  TimerService timers;
  timers.start();
  Vrtc rtc(router, timers, false);
  rtc.set_time(1924991106);
  uint8_t v;
  auto reg = [&](int r) {
    rtc.nvram_read(r, &v);
    return v;
  };
  // 1924991106 = 2030-12-31 23:45:06 UTC
  check(reg(9) == 0x30 && reg(8) == 0x12 && reg(7) == 0x31 && reg(4) == 0x23 && reg(2) == 0x45,
        "vrtc: BCD date of a known time", hex(reg(9)) + " " + hex(reg(8)) + " " + hex(reg(7)));
  check(reg(0x32) == 0x20, "vrtc: century register");
  rtc.nvram_write(0x0B, 0x82);  // SET
  rtc.nvram_write(0x08, 0x13);  // month 13
  rtc.nvram_write(0x0B, 0x02);
  check(rtc.get_time() >= 1924991106 && rtc.get_time() < 1924991106 + 5,
        "vrtc: an impossible date is ignored");
  rtc.nvram_write(0x0B, 0x86);  // SET, binary: every field must be rewritten
  const uint8_t fields[][2] = {{0, 1}, {2, 2}, {4, 3}, {7, 29}, {8, 2}, {9, 40}, {0x32, 20}};
  for (const auto& f : fields) rtc.nvram_write(f[0], f[1]);
  rtc.nvram_write(0x0B, 0x06);
  check(reg(9) == 40 && reg(8) == 2 && reg(7) == 29 && reg(4) == 3,
        "vrtc: binary mode, leap day 2040-02-29",
        std::to_string(reg(9)) + "-" + std::to_string(reg(8)) + "-" + std::to_string(reg(7)));
  check(rtc.get_time() >= 2214097321 && rtc.get_time() < 2214097321 + 5, "vrtc: set time read back",
        std::to_string(rtc.get_time()));
  rtc.set_memory_cells(3ull << 30, 1ull << 30);
  check(reg(0x34) == 0x00 && reg(0x35) == 0xBF && reg(0x5B) == 0 && reg(0x5C) == 0x40,
        "vrtc: bhyve memory cells", hex(reg(0x35)) + " " + hex(reg(0x5C)));
  // Periodic interrupt at 1024 Hz raises IRQ 8 once until C is read.
  rtc.nvram_write(0x0A, 0x26);
  rtc.nvram_write(0x0B, 0x42);
  eventually([&] { return router.isa >= 1; });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  int first = router.isa;
  check(first == 1, "vrtc: IRQF stays set until register C is read", std::to_string(first));
  rtc.port_out(0x70, 1, 0x0C);
  check(rtc.port_in(0x71, 1) & 0xC0, "vrtc: C shows IRQF|PF");
  check(eventually([&] { return router.isa == 2; }), "vrtc: reading C re-arms the interrupt");
  check(!rtc.nvram_read(128, &v) && !rtc.nvram_write(-1, 0), "vrtc: offsets outside 0..127 refused");
  timers.stop();
}

void test_vhpet_pmtmr() {
  Router router;
  TimerService timers;
  timers.start();
  Vhpet hpet(router, timers);
  check(hpet.mmio_read(0, 8) == ((59604644ull << 32) | 0x8086A701u), "vhpet: capabilities");
  hpet.mmio_write(0x10, 8, 1);
  double hz = rate([&] { return hpet.mmio_read(0xF0, 8); }, 20);
  check(hz > 16777216 * 0.97 && hz < 16777216 * 1.03, "vhpet: counter at 2^24 Hz", std::to_string(hz));
  hpet.mmio_write(0x110, 8, (0xFEE00000ull << 32) | 0x44);
  hpet.mmio_write(0x100, 8, (1u << 14) | (1u << 2));
  hpet.mmio_write(0x108, 8, hpet.mmio_read(0xF0, 8) + 16777);
  check(eventually([&] { return router.msis == 1; }), "vhpet: FSB timer sends one MSI");
  hpet.mmio_write(0x120, 8, (7u << 9) | (1u << 2));
  check(((hpet.mmio_read(0x120, 8) >> 9) & 0x1F) == 0, "vhpet: route outside the capability refused");
  check(hpet.mmio_read(0x3, 4) == 0 && hpet.mmio_read(0x10, 2) == 0, "vhpet: unaligned/narrow reads are 0");
  Vpmtmr pm;
  double pmhz = rate([&] { return static_cast<uint64_t>(pm.port_in(0x408, 4)); }, 20);
  check(pmhz > 3579545 * 0.97 && pmhz < 3579545 * 1.03, "vpmtmr: 3.579545 MHz", std::to_string(pmhz));
  timers.stop();
}

// ---- fuzz ----------------------------------------------------------------------------

void fuzz(uint64_t iterations) {
  TimerService timers;
  timers.start();
  Router router;
  Events ev;
  Vioapic io(router);
  Vatpic pic(router);
  Vatpit pit(router, timers);
  Vrtc rtc(router, timers, true);
  Vpmtmr pm;
  Vhpet hpet(router, timers);
  Vlapic lapic(0, true, true, true, router, timers, ev);
  router.lapic = &lapic;
  router.io = &io;
  std::atomic<bool> stop{false};
  // A second thread injects interrupts the whole time, as TypeScript and timers would.
  std::thread injector([&] {
    std::mt19937_64 r(7);
    while (!stop.load()) {
      uint64_t x = r();
      switch (x % 6) {
        case 0: io.pin(static_cast<int>((x >> 8) % 40) - 4, static_cast<IrqOp>((x >> 16) % 3)); break;
        case 1: pic.irq(static_cast<int>((x >> 8) % 20) - 2, static_cast<IrqOp>((x >> 16) % 3)); break;
        case 2: lapic.accept_fixed(static_cast<uint8_t>(x >> 8), (x >> 16) & 1); break;
        case 3: lapic.local_irq(static_cast<int>((x >> 8) % 9) - 1); break;
        case 4: io.eoi(static_cast<int>((x >> 8) % 300) - 20); break;
        default: {
          int v = lapic.pending_vector();
          if (v >= 0) lapic.ack(v);
          pic.ack();
          break;
        }
      }
    }
  });
  std::mt19937_64 r(12345);
  const int sizes[] = {0, 1, 2, 3, 4, 5, 8, 16, -1};
  static const uint16_t ports[] = {0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1, 0x40, 0x41,
                                   0x42, 0x43, 0x61, 0x70, 0x71, 0x408, 0x40B};
  for (uint64_t i = 0; i < iterations; ++i) {
    uint64_t x = r(), val = r();
    int size = sizes[(x >> 8) % 9];
    switch (x % 9) {
      case 0: lapic.mmio_write(kApic + ((x >> 16) & 0x1FFF), size, val); break;
      case 1: (void)lapic.mmio_read(kApic + ((x >> 16) & 0x1FFF), size); break;
      case 2: {
        uint32_t msr = (x >> 16) & 1 ? 0x800 + ((x >> 20) & 0x1FF) : static_cast<uint32_t>(x >> 20);
        if ((x >> 40) % 50 == 0) msr = 0x1B;
        if ((x >> 40) % 50 == 1) msr = 0x6E0;
        uint64_t v;
        if ((x >> 17) & 1) lapic.wrmsr(msr, val); else lapic.rdmsr(msr, &v);
        break;
      }
      case 3:
        if ((x >> 16) & 1) io.mmio_write((x >> 20) & 0xFFF, size, val);
        else (void)io.mmio_read((x >> 20) & 0xFFF, size);
        break;
      case 4:
        if ((x >> 16) & 1) hpet.mmio_write((x >> 20) & 0x7FF, size, val);
        else (void)hpet.mmio_read((x >> 20) & 0x7FF, size);
        break;
      case 5: {
        uint16_t p = ports[(x >> 16) % (sizeof(ports) / sizeof(ports[0]))];
        int psize = size < 1 ? 1 : size > 4 ? 4 : size;
        if ((x >> 24) & 1) {
          if (Vatpic::claims_port(p)) pic.port_out(p, psize, static_cast<uint32_t>(val));
          else if (Vatpit::claims_port(p)) pit.port_out(p, psize, static_cast<uint32_t>(val));
          else if (Vrtc::claims_port(p)) rtc.port_out(p, psize, static_cast<uint32_t>(val));
        } else {
          if (Vatpic::claims_port(p)) pic.port_in(p, psize);
          else if (Vatpit::claims_port(p)) pit.port_in(p, psize);
          else if (Vrtc::claims_port(p)) rtc.port_in(p, psize);
          else pm.port_in(p, psize);
        }
        break;
      }
      case 6: {
        uint8_t v;
        rtc.nvram_write(static_cast<int>((x >> 16) % 160) - 16, static_cast<uint8_t>(val));
        rtc.nvram_read(static_cast<int>((x >> 24) % 160) - 16, &v);
        break;
      }
      case 7: lapic.write_cr8(val); (void)lapic.read_cr8(); break;
      default:
        if ((x >> 16) % 1000 == 0) lapic.reset((x >> 20) & 1);
        if ((x >> 16) % 1000 == 1) pic.reset();
        rtc.set_time(static_cast<int64_t>(val % (1ull << 38)) - (1ll << 37));
        break;
    }
  }
  stop = true;
  injector.join();
  timers.stop();
  check(true, "fuzz: every device survived random accesses from two threads");
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t iterations = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  test_vlapic();
  test_vioapic();
  test_vatpic();
  test_vatpit();
  test_vrtc();
  test_vhpet_pmtmr();
  fuzz(iterations);
  if (failures == 0) std::printf("ALL PASS\n");
  return failures == 0 ? 0 : 1;
}
