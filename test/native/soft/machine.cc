// Test-only PC around the soft CPU: RAM, Multiboot v1 loader, COM1, debug exit, 8259, IRQ
// lines. See machine.h.
#include "machine.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "vmm/x86_state.h"

namespace tsvirt::test {

namespace {

constexpr uint32_t kMultibootMagic = 0x1BADB002;
constexpr uint32_t kMultibootBootloaderMagic = 0x2BADB002;
constexpr uint64_t kMbiAddr = 0x9500;
constexpr uint64_t kMmapAddr = 0x9000;
constexpr uint64_t kCmdlineAddr = 0x9800;

template <class T> T get(const std::vector<uint8_t>& b, size_t off) {
  T v{};
  if (off + sizeof(T) <= b.size()) std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

}  // namespace

Machine::Machine(uint64_t ram_bytes) : ram_size_(ram_bytes) {
  ram_ = static_cast<uint8_t*>(mmap(nullptr, ram_bytes, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  mem_ = soft::PhysMemory::create();
  soft::RamRegion r;
  r.gpa = 0;
  r.size = ram_bytes;
  r.host = ram_;
  mem_->add_region(r);
  cpu_ = soft::Cpu::create(*mem_, *this, 0);
}

Machine::~Machine() {
  cpu_.reset();
  munmap(ram_, ram_size_);
}

std::string Machine::load_multiboot(const std::string& path, const std::string& cmdline) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "cannot open " + path;
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (b.size() < 52 || std::memcmp(b.data(), "\x7F" "ELF", 4) != 0 || b[4] != 1) {
    return path + ": not an ELF32 file";
  }
  bool found = false;
  for (size_t off = 0; off + 12 <= b.size() && off < 8192; off += 4) {
    if (get<uint32_t>(b, off) == kMultibootMagic) {
      const uint32_t flags = get<uint32_t>(b, off + 4);
      if (uint32_t(kMultibootMagic + flags + get<uint32_t>(b, off + 8)) != 0) continue;
      if (flags & (1u << 16)) return path + ": a.out kludge images are not supported";
      found = true;
      break;
    }
  }
  if (!found) return path + ": no Multiboot header in the first 8 KiB";
  const uint32_t entry = get<uint32_t>(b, 24);
  const uint32_t phoff = get<uint32_t>(b, 28);
  const uint16_t phentsize = get<uint16_t>(b, 42);
  const uint16_t phnum = get<uint16_t>(b, 44);
  uint64_t image_end = 0;
  for (unsigned k = 0; k < phnum; k++) {
    const size_t ph = phoff + size_t(k) * phentsize;
    if (get<uint32_t>(b, ph) != 1) continue;  // PT_LOAD
    const uint32_t offset = get<uint32_t>(b, ph + 4);
    const uint32_t paddr = get<uint32_t>(b, ph + 12);
    const uint32_t filesz = get<uint32_t>(b, ph + 16);
    const uint32_t memsz = get<uint32_t>(b, ph + 20);
    if (uint64_t(paddr) + memsz > ram_size_ || uint64_t(offset) + filesz > b.size() || filesz > memsz) {
      return path + ": segment outside RAM or file";
    }
    std::memcpy(ram_ + paddr, b.data() + offset, filesz);
    std::memset(ram_ + paddr + filesz, 0, memsz - filesz);
    if (paddr + memsz > image_end) image_end = paddr + memsz;
  }
  // Multiboot information (Multiboot 0.6.96, section 3.3).
  const std::string cl = path + (cmdline.empty() ? "" : " " + cmdline);
  std::memcpy(ram_ + kCmdlineAddr, cl.c_str(), std::min<size_t>(cl.size() + 1, 0x700));
  struct MmapEntry {
    uint32_t size;
    uint64_t base, len;
    uint32_t type;
  } __attribute__((packed));
  const MmapEntry mm[2] = {{20, 0, 0x9FC00, 1}, {20, 0x100000, ram_size_ - 0x100000, 1}};
  std::memcpy(ram_ + kMmapAddr, mm, sizeof(mm));
  uint32_t mbi[22] = {};
  mbi[0] = (1u << 0) | (1u << 2) | (1u << 6);  // mem, cmdline, mmap
  mbi[1] = 640;
  mbi[2] = uint32_t((ram_size_ - 0x100000) / 1024);
  mbi[4] = uint32_t(kCmdlineAddr);
  mbi[11] = sizeof(mm);
  mbi[12] = uint32_t(kMmapAddr);
  std::memcpy(ram_ + kMbiAddr, mbi, sizeof(mbi));

  x86::CpuState s;
  cpu_->get_state(&s);
  s.rip = entry;
  s.rflags = 2;
  s.gpr[x86::RAX] = kMultibootBootloaderMagic;
  s.gpr[x86::RBX] = kMbiAddr;
  const x86::Segment code{0, 0xFFFFFFFF, 0x08, 0xC09B};
  const x86::Segment data{0, 0xFFFFFFFF, 0x10, 0xC093};
  s.cs = code;
  s.ds = s.es = s.ss = s.fs = s.gs = data;
  s.cr0 = 0x11;
  s.cr4 = 0;
  s.efer = 0;
  cpu_->set_state(s);
  return "";
}

int Machine::run(uint64_t max_insns) {
  uint64_t start = cpu_->instructions_retired();
  while (!exited_) {
    const uint64_t done = cpu_->instructions_retired() - start;
    if (done >= max_insns) {
      std::fprintf(stderr, "machine: instruction budget exhausted\n");
      return 124;
    }
    if (trace) {
      x86::CpuState s;
      cpu_->get_state(&s);
      std::fprintf(stderr, "rip=%#llx rsp=%#llx rax=%#llx rcx=%#llx rdx=%#llx fl=%#llx cs=%#x cr0=%#llx\n",
                   (unsigned long long)s.rip, (unsigned long long)s.gpr[4],
                   (unsigned long long)s.gpr[0], (unsigned long long)s.gpr[1],
                   (unsigned long long)s.gpr[2], (unsigned long long)s.rflags, s.cs.selector,
                   (unsigned long long)s.cr0);
    }
    const soft::StopReason r = cpu_->run(trace ? 1 : std::min<uint64_t>(max_insns - done, 100000000));
    switch (r) {
      case soft::StopReason::kBudget: case soft::StopReason::kStopRequested:
        break;
      case soft::StopReason::kHlt: {
        if (pending_interrupt() >= 0) break;
        x86::CpuState s;
        cpu_->get_state(&s);
        if (!(s.rflags & 0x200)) {
          std::fprintf(stderr, "machine: HLT with interrupts disabled at rip=%#llx\n",
                       static_cast<unsigned long long>(s.rip));
          return 125;
        }
        std::fprintf(stderr, "machine: HLT with no interrupt source at rip=%#llx\n",
                     static_cast<unsigned long long>(s.rip));
        return 125;
      }
      case soft::StopReason::kInterruptWindow: break;
      case soft::StopReason::kShutdown:
        std::fprintf(stderr, "machine: triple fault\n");
        return 0;
      case soft::StopReason::kDebug: break;
      case soft::StopReason::kBreakpoint:
      case soft::StopReason::kPause:
        // This machine never sets exit controls (cpu.h): such a stop is a CPU bug.
        std::fprintf(stderr, "machine: unrequested exit-control stop %d\n", static_cast<int>(r));
        return 125;
      case soft::StopReason::kError:
        std::fprintf(stderr, "machine: cpu error: %s\n", cpu_->error_message());
        return 125;
    }
  }
  return exit_status_;
}

uint32_t Machine::pio_in(uint16_t port, int size) {
  pio_exits++;
  switch (port) {
    case 0x3FD: return 0x60;  // LSR: THRE | TEMT
    case 0x3F8 + 3: return lcr_;
    case 0x20: return pic_irr_;
    case 0x21: return pic_imr_;
    default: break;
  }
  return size == 1 ? 0xFF : size == 2 ? 0xFFFF : 0xFFFFFFFF;
}

void Machine::pio_out(uint16_t port, int size, uint32_t value) {
  pio_exits++;
  if (port == 0x3F8 && !(lcr_ & 0x80)) {
    const char ch = char(value & 0xFF);
    serial.push_back(ch);
    if (echo) {
      std::fputc(ch, stdout);
      std::fflush(stdout);
    }
    return;
  }
  if (port == 0x3FB) {
    lcr_ = uint8_t(value);
    return;
  }
  if (port == 0xF4) {
    exited_ = true;
    exit_status_ = int(((value << 1) | 1) & 0xFF);
    cpu_->request_stop();
    return;
  }
  if (port == 0x20) {
    if (value & 0x10) {  // ICW1
      pic_icw_ = 2;
      pic_icw4_ = value & 1;
      pic_imr_ = 0;
      pic_isr_ = 0;
      pic_irr_ = 0;
      return;
    }
    if ((value & 0x18) == 0) {  // OCW2
      const unsigned cmd = (value >> 5) & 7;
      if (cmd == 1 && pic_isr_ != 0) pic_isr_ &= uint8_t(pic_isr_ - 1);  // lowest set bit
      if (cmd == 3) pic_isr_ &= uint8_t(~(1u << (value & 7)));
      pic_update();
    }
    return;
  }
  if (port == 0x21) {
    if (pic_icw_ == 2) {
      pic_base_ = uint8_t(value & 0xF8);
      pic_icw_ = 3;
    } else if (pic_icw_ == 3) {
      pic_icw_ = pic_icw4_ ? 4 : 0;
    } else if (pic_icw_ == 4) {
      pic_icw_ = 0;
    } else {
      pic_imr_ = uint8_t(value);
      pic_update();
    }
    return;
  }
  if (port >= 0x2000 && port < 0x2018) {
    const unsigned irq = port - 0x2000;
    const bool level = value != 0;
    const bool was = irq_levels_ & (1u << irq);
    if (level) irq_levels_ |= 1u << irq;
    else irq_levels_ &= ~(1u << irq);
    if (level && !was && irq < 8) pic_irr_ |= uint8_t(1u << irq);
    pic_update();
    return;
  }
  (void)size;
}

void Machine::pic_update() {
  if (pending_interrupt() >= 0) cpu_->notify_interrupt();
}

constexpr uint64_t kIomem = 0xFF000000;

uint64_t Machine::mmio_read(uint64_t gpa, int size) {
  if (gpa >= kIomem && gpa - kIomem + uint64_t(size) <= sizeof(iomem_)) {
    uint64_t v = 0;
    std::memcpy(&v, iomem_ + (gpa - kIomem), size_t(size));
    return v;
  }
  return ~uint64_t{0};
}

void Machine::mmio_write(uint64_t gpa, int size, uint64_t value) {
  if (gpa >= kIomem && gpa - kIomem + uint64_t(size) <= sizeof(iomem_)) {
    std::memcpy(iomem_ + (gpa - kIomem), &value, size_t(size));
  }
}

bool Machine::rdmsr(uint32_t index, uint64_t* value) {
  if (index == x86::msr::kApicBase) {
    *value = apic_base_;
    return true;
  }
  return false;
}

bool Machine::wrmsr(uint32_t index, uint64_t value) {
  if (index == x86::msr::kApicBase) {
    apic_base_ = value;
    return true;
  }
  return false;
}

int Machine::pending_interrupt() {
  const uint8_t req = pic_irr_ & uint8_t(~pic_imr_);
  if (req == 0) return -1;
  const int irq = __builtin_ctz(req);
  // Fully nested mode: an in-service IRQ of equal or higher priority blocks it.
  if (pic_isr_ != 0 && __builtin_ctz(pic_isr_) <= irq) return -1;
  return pic_base_ + irq;
}

void Machine::ack_interrupt(int vector) {
  const int irq = vector - pic_base_;
  if (irq < 0 || irq > 7) return;
  pic_irr_ &= uint8_t(~(1u << irq));
  pic_isr_ |= uint8_t(1u << irq);
}

}  // namespace tsvirt::test
