// A minimal test-only PC around the soft CPU, for running guest programs from
// fixtures/guests/ in tests and benchmarks (never part of the addon).
//
// It provides what the guests need and what QEMU's "-kernel" path provides, so the same
// ELF runs unchanged on both: RAM from 0, a Multiboot v1 loader for ELF32 images (PT_LOAD
// segments at their physical addresses, bss zeroed, MBI at 0x9500, entry in 32-bit protected
// mode with EAX=0x2BADB002), COM1 transmit at 0x3F8 (LSR always reports THRE), QEMU's
// isa-debug-exit at 0xF4 (exit status (v << 1) | 1), a master 8259 PIC at 0x20/0x21 (ICW1-4,
// mask, non-specific EOI), QEMU pc-testdev's IRQ lines at 0x2000+n and its RAM-like MMIO
// window at 0xFF000000 (64 KiB), so interrupt and MMIO tests behave the same here and
// under "qemu-system-x86_64 -device pc-testdev".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "soft/cpu.h"

namespace tsvirt::test {

class Machine final : public soft::CpuHost {
 public:
  explicit Machine(uint64_t ram_bytes);
  ~Machine() override;

  // Load a Multiboot v1 ELF32 image; returns an error message or "" on success.
  std::string load_multiboot(const std::string& path, const std::string& cmdline);
  // Run until the guest exits, triple-faults, or max_insns retire.
  // Returns the process exit status (QEMU conventions: (code << 1) | 1 for port 0xF4,
  // 0 for a triple fault with --no-reboot, 124 when the budget ran out, 125 on error).
  int run(uint64_t max_insns);

  soft::Cpu& cpu() { return *cpu_; }
  uint8_t* ram() { return ram_; }
  uint64_t ram_size() const { return ram_size_; }
  std::string serial;  // everything written to COM1
  bool echo = true;    // copy serial output to stdout as it comes
  bool trace = false;  // print RIP and registers before every instruction (stderr)
  uint64_t pio_exits = 0;

  // CpuHost.
  uint32_t pio_in(uint16_t port, int size) override;
  void pio_out(uint16_t port, int size, uint32_t value) override;
  uint64_t mmio_read(uint64_t gpa, int size) override;
  void mmio_write(uint64_t gpa, int size, uint64_t value) override;
  bool rdmsr(uint32_t index, uint64_t* value) override;
  bool wrmsr(uint32_t index, uint64_t value) override;
  int pending_interrupt() override;
  void ack_interrupt(int vector) override;
  uint64_t read_cr8() override { return cr8_; }
  void write_cr8(uint64_t v) override { cr8_ = v; }

 private:
  uint8_t* ram_ = nullptr;
  uint64_t ram_size_ = 0;
  std::unique_ptr<soft::PhysMemory> mem_;
  std::unique_ptr<soft::Cpu> cpu_;
  bool exited_ = false;
  int exit_status_ = 0;
  uint64_t cr8_ = 0;
  uint64_t apic_base_ = 0xFEE00900;
  // 8259 master.
  uint8_t pic_irr_ = 0, pic_isr_ = 0, pic_imr_ = 0xFF, pic_base_ = 0x08;
  int pic_icw_ = 0;  // next ICW expected (0 = none)
  bool pic_icw4_ = false;
  uint32_t irq_levels_ = 0;
  uint8_t iomem_[0x10000] = {};
  uint8_t lcr_ = 0;
  void pic_update();
};

}  // namespace tsvirt::test
