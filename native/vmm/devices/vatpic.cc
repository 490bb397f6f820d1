// vatpic: see vatpic.h.
#include "vmm/devices/vatpic.h"

namespace tsvirt::vmm {

namespace {
constexpr uint16_t kMasterCmd = 0x20, kMasterData = 0x21;
constexpr uint16_t kSlaveCmd = 0xA0, kSlaveData = 0xA1;
constexpr uint16_t kElcrMaster = 0x4D0, kElcrSlave = 0x4D1;
constexpr uint8_t kElcrMask[2] = {0xF8, 0xDE};

constexpr uint8_t kIcw1 = 0x10;       // bit 4: ICW1
constexpr uint8_t kIcw1Ic4 = 0x01;
constexpr uint8_t kIcw1Single = 0x02;
constexpr uint8_t kOcw3 = 0x08;       // bit 3: OCW3 (with bit 4 clear)
constexpr uint8_t kIcw4Aeoi = 0x02;
constexpr uint8_t kIcw4Sfnm = 0x10;
constexpr int kCascadePin = 2;
}  // namespace

Vatpic::Vatpic(InterruptRouter& router) : router_(router) { reset(); }

void Vatpic::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  chip_[0] = Chip{};
  chip_[1] = Chip{};
  // Nothing initialises the pair before the guest runs (there is no BIOS), and the BSP's
  // LINT0 resets to ExtINT: start with every input masked, as firmware leaves them, so an
  // uninitialised 8259 never hands the CPU a vector. ICW1 clears the masks (datasheet).
  chip_[0].imr = chip_[1].imr = 0xFF;
  output_ = signalled_ = false;
  output_hint_.store(false);
}

bool Vatpic::claims_port(uint16_t port) {
  return port == kMasterCmd || port == kMasterData || port == kSlaveCmd || port == kSlaveData ||
         port == kElcrMaster || port == kElcrSlave;
}

int Vatpic::highest_irr(const Chip& c, bool master) {
  uint8_t serviced = c.isr;
  if (c.smm) serviced &= static_cast<uint8_t>(~c.imr);
  if (master && c.sfn) serviced &= static_cast<uint8_t>(~(1u << kCascadePin));
  uint8_t pending = c.irr & static_cast<uint8_t>(~c.imr);
  for (int i = 0; i < 8; ++i) {
    int pin = (c.lowprio + 1 + i) & 7;
    if (serviced & (1u << pin)) return -1;
    if (pending & (1u << pin)) return pin;
  }
  return -1;
}

int Vatpic::highest_isr(const Chip& c) {
  for (int i = 0; i < 8; ++i) {
    int pin = (c.lowprio + 1 + i) & 7;
    if (c.isr & (1u << pin)) return pin;
  }
  return -1;
}

void Vatpic::update_locked() {
  // The slave's INT output is the level on master input 2.
  Chip& m = chip_[0];
  bool slave_out = highest_irr(chip_[1], false) >= 0;
  if (slave_out) m.irr |= 1u << kCascadePin; else m.irr &= ~(1u << kCascadePin);
  bool out = highest_irr(m, true) >= 0;
  output_ = out;
  output_hint_.store(out, std::memory_order_release);
  if (!out) {
    signalled_ = false;
    return;
  }
  if (!signalled_) {
    signalled_ = true;
    router_.pic_output(true);
  }
}

void Vatpic::set_pin_locked(int irq, bool level) {
  Chip& c = chip_[irq >> 3];
  int pin = irq & 7;
  uint8_t bit = static_cast<uint8_t>(1u << pin);
  if (level) {
    if (c.acnt[pin] < (1 << 20)) ++c.acnt[pin];
    if (c.acnt[pin] == 1) c.irr |= bit;  // rising edge, or level now high
  } else {
    if (c.acnt[pin] > 0) --c.acnt[pin];
    if (c.acnt[pin] == 0 && (c.elcr & bit)) c.irr &= static_cast<uint8_t>(~bit);
  }
}

bool Vatpic::irq(int irq, IrqOp op) {
  if (irq < 0 || irq > 15) return false;
  std::lock_guard<std::mutex> lock(mu_);
  switch (op) {
    case IrqOp::kAssert: set_pin_locked(irq, true); break;
    case IrqOp::kDeassert: set_pin_locked(irq, false); break;
    case IrqOp::kPulse:
      set_pin_locked(irq, true);
      set_pin_locked(irq, false);
      break;
  }
  update_locked();
  return true;
}

bool Vatpic::set_trigger(int irq, bool level) {
  if (irq < 0 || irq > 15) return false;
  int which = irq >> 3;
  uint8_t bit = static_cast<uint8_t>(1u << (irq & 7));
  if (level && !(kElcrMask[which] & bit)) return false;  // IRQ 0,1,2,8,13 are edge only
  std::lock_guard<std::mutex> lock(mu_);
  if (level) chip_[which].elcr |= bit; else chip_[which].elcr &= static_cast<uint8_t>(~bit);
  return true;
}

void Vatpic::accept_pin_locked(Chip& c, int pin) {
  uint8_t bit = static_cast<uint8_t>(1u << pin);
  if (!(c.elcr & bit)) c.irr &= static_cast<uint8_t>(~bit);  // edge: consumed by INTA
  if (c.aeoi) {
    if (c.rotate_aeoi) c.lowprio = static_cast<uint8_t>(pin);
  } else {
    c.isr |= bit;
  }
}

int Vatpic::pending_vector() {
  std::lock_guard<std::mutex> lock(mu_);
  int pin = highest_irr(chip_[0], true);
  if (pin < 0) return -1;
  if (pin == kCascadePin) {
    int spin = highest_irr(chip_[1], false);
    if (spin < 0) return chip_[1].base + 7;
    return chip_[1].base + spin;
  }
  return chip_[0].base + pin;
}

int Vatpic::ack_locked() {
  Chip& m = chip_[0];
  Chip& s = chip_[1];
  int pin = highest_irr(m, true);
  if (pin < 0) return m.base + 7;  // spurious IRQ7
  int vector;
  if (pin == kCascadePin) {
    int spin = highest_irr(s, false);
    if (spin < 0) {
      vector = s.base + 7;  // spurious IRQ15: master still takes the cascade
    } else {
      accept_pin_locked(s, spin);
      vector = s.base + spin;
    }
    if (m.aeoi) {
      if (m.rotate_aeoi) m.lowprio = kCascadePin;
    } else {
      m.isr |= 1u << kCascadePin;
    }
  } else {
    accept_pin_locked(m, pin);
    vector = m.base + pin;
  }
  signalled_ = false;
  update_locked();
  return vector;
}

int Vatpic::ack() {
  std::lock_guard<std::mutex> lock(mu_);
  return ack_locked();
}

bool Vatpic::output() {
  std::lock_guard<std::mutex> lock(mu_);
  return output_;
}

void Vatpic::chip_write(int which, bool data_port, uint8_t v) {
  Chip& c = chip_[which];
  if (!data_port) {
    if (v & kIcw1) {
      // ICW1 starts initialisation: clears IMR, ISR, IRR's edge memory, priorities.
      c.icw_num = 2;
      c.ready = false;
      c.ic4 = v & kIcw1Ic4;
      c.single = v & kIcw1Single;
      c.imr = 0;
      c.isr = 0;
      c.irr &= c.elcr;  // level inputs stay visible
      c.lowprio = 7;
      c.read_isr = false;
      c.poll = false;
      c.smm = false;
      c.aeoi = false;
      c.rotate_aeoi = false;
      c.sfn = false;
      return;
    }
    if (v & kOcw3) {
      if (v & 0x40) c.smm = v & 0x20;
      c.poll = v & 0x04;
      if (v & 0x02) c.read_isr = v & 0x01;
      return;
    }
    // OCW2
    int cmd = v >> 5;
    int level = v & 7;
    switch (cmd) {
      case 1:  // non-specific EOI
      case 5: {  // rotate on non-specific EOI
        int pin = highest_isr(c);
        if (pin >= 0) {
          c.isr &= static_cast<uint8_t>(~(1u << pin));
          if (cmd == 5) c.lowprio = static_cast<uint8_t>(pin);
        }
        break;
      }
      case 3:  // specific EOI
      case 7:  // rotate on specific EOI
        c.isr &= static_cast<uint8_t>(~(1u << level));
        if (cmd == 7) c.lowprio = static_cast<uint8_t>(level);
        break;
      case 4: c.rotate_aeoi = true; break;
      case 0: c.rotate_aeoi = false; break;
      case 6: c.lowprio = static_cast<uint8_t>(level); break;
      default: break;  // 2: no operation
    }
    return;
  }
  // Data port: ICW2-4 during initialisation, OCW1 otherwise.
  switch (c.icw_num) {
    case 2:
      c.base = v & 0xF8;
      c.icw_num = c.single ? (c.ic4 ? 4 : 0) : 3;
      if (c.icw_num == 0) c.ready = true;
      return;
    case 3:
      c.icw_num = c.ic4 ? 4 : 0;
      if (c.icw_num == 0) c.ready = true;
      return;
    case 4:
      c.aeoi = v & kIcw4Aeoi;
      c.sfn = v & kIcw4Sfnm;
      c.icw_num = 0;
      c.ready = true;
      return;
    default:
      c.imr = v;
      return;
  }
}

uint8_t Vatpic::chip_read(int which, bool data_port) {
  Chip& c = chip_[which];
  if (data_port) return c.imr;
  if (c.poll) {
    // Poll command: the next read acknowledges the highest request (8259A "Poll").
    c.poll = false;
    int pin = highest_irr(c, which == 0);
    if (pin < 0) return 0;
    accept_pin_locked(c, pin);
    return static_cast<uint8_t>(0x80 | pin);
  }
  return c.read_isr ? c.isr : c.irr;
}

uint32_t Vatpic::port_in(uint16_t port, int size) {
  std::lock_guard<std::mutex> lock(mu_);
  uint32_t v;
  switch (port) {
    case kMasterCmd: v = chip_read(0, false); break;
    case kMasterData: v = chip_read(0, true); break;
    case kSlaveCmd: v = chip_read(1, false); break;
    case kSlaveData: v = chip_read(1, true); break;
    case kElcrMaster:
      v = chip_[0].elcr;
      if (size >= 2) v |= static_cast<uint32_t>(chip_[1].elcr) << 8;
      return v;
    case kElcrSlave: v = chip_[1].elcr; break;
    default: v = 0xFF; break;
  }
  update_locked();
  if (size > 1) v |= ~0u << 8 & (size == 2 ? 0xFFFFu : 0xFFFFFFFFu);
  return v;
}

void Vatpic::port_out(uint16_t port, int size, uint32_t value) {
  std::lock_guard<std::mutex> lock(mu_);
  uint8_t v = static_cast<uint8_t>(value);
  switch (port) {
    case kMasterCmd: chip_write(0, false, v); break;
    case kMasterData: chip_write(0, true, v); break;
    case kSlaveCmd: chip_write(1, false, v); break;
    case kSlaveData: chip_write(1, true, v); break;
    case kElcrMaster:
      chip_[0].elcr = v & kElcrMask[0];
      if (size >= 2) chip_[1].elcr = static_cast<uint8_t>(value >> 8) & kElcrMask[1];
      break;
    case kElcrSlave: chip_[1].elcr = v & kElcrMask[1]; break;
    default: break;
  }
  update_locked();
}

}  // namespace tsvirt::vmm
