// Command-line runner of a Multiboot guest on the test machine (machine.h).
//
// usage: runner [--ram MiB] [--max-insns N] [--stats] image.elf [cmdline...]
// Serial output goes to stdout; the exit status follows QEMU's isa-debug-exit convention
// ((code << 1) | 1), so tests compare it with qemu-system-x86_64 directly.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "machine.h"

int main(int argc, char** argv) {
  uint64_t ram_mib = 128;
  uint64_t max_insns = 4000000000ull;
  bool stats = false;
  bool trace = false;
  int k = 1;
  for (; k < argc && argv[k][0] == '-'; k++) {
    if (!std::strcmp(argv[k], "--ram") && k + 1 < argc) ram_mib = std::strtoull(argv[++k], nullptr, 0);
    else if (!std::strcmp(argv[k], "--max-insns") && k + 1 < argc) max_insns = std::strtoull(argv[++k], nullptr, 0);
    else if (!std::strcmp(argv[k], "--stats")) stats = true;
    else if (!std::strcmp(argv[k], "--trace")) trace = true;
    else {
      std::fprintf(stderr, "runner: unknown option %s\n", argv[k]);
      return 2;
    }
  }
  if (k >= argc) {
    std::fprintf(stderr, "usage: runner [--ram MiB] [--max-insns N] [--stats] image.elf [cmdline]\n");
    return 2;
  }
  std::string cmdline;
  for (int j = k + 1; j < argc; j++) cmdline += (cmdline.empty() ? "" : " ") + std::string(argv[j]);
  tsvirt::test::Machine m(ram_mib << 20);
  m.trace = trace;
  const std::string err = m.load_multiboot(argv[k], cmdline);
  if (!err.empty()) {
    std::fprintf(stderr, "runner: %s\n", err.c_str());
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const int status = m.run(max_insns);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (stats) {
    const double n = double(m.cpu().instructions_retired());
    std::fprintf(stderr, "runner: %.0f instructions in %.3f s (%.1f MIPS), %llu port exits\n", n,
                 secs, n / secs / 1e6, static_cast<unsigned long long>(m.pio_exits));
  }
  return status;
}
