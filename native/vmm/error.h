// Error values of the backend-neutral vmm API (native/vmm, native/kvm).
//
// Every fallible vmm call returns an Error: empty (false) on success, otherwise a small
// stable kind plus a message naming the value or host call at fault. The N-API binding
// turns it into the TypeScript VmmError with the same kind; nothing below the binding
// throws. Host failures carry the errno and the system call that failed (open(2),
// ioctl(KVM_CREATE_VM), mmap(2)) so a user can act on them.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace tsvirt::vmm {

enum class ErrorKind : int {
  kNone = 0,
  kInvalidArgument,  // a caller-supplied value is out of range or malformed
  kUnsupported,      // valid, but this backend/build does not implement it
  kHost,             // a host system call failed (errnum, op)
  kState,            // not allowed in the object's current state (e.g. while running)
  kNoBackend,        // the requested backend is not available on this host
};

inline const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNone: return "none";
    case ErrorKind::kInvalidArgument: return "invalid-argument";
    case ErrorKind::kUnsupported: return "unsupported";
    case ErrorKind::kHost: return "host";
    case ErrorKind::kState: return "state";
    case ErrorKind::kNoBackend: return "no-backend";
  }
  return "unknown";
}

struct Error {
  ErrorKind kind = ErrorKind::kNone;
  std::string message;
  int errnum = 0;   // kHost only
  std::string op;   // kHost only: the call that failed

  explicit operator bool() const { return kind != ErrorKind::kNone; }

  static Error ok() { return Error{}; }
  static Error make(ErrorKind kind, std::string message) {
    Error e;
    e.kind = kind;
    e.message = std::move(message);
    return e;
  }
  static Error invalid(std::string message) {
    return make(ErrorKind::kInvalidArgument, std::move(message));
  }
  static Error unsupported(std::string message) {
    return make(ErrorKind::kUnsupported, std::move(message));
  }
  static Error state(std::string message) { return make(ErrorKind::kState, std::move(message)); }
  // A failed host call; errnum is usually errno captured right after the call.
  static Error host(std::string op, int errnum, std::string what = {}) {
    Error e;
    e.kind = ErrorKind::kHost;
    e.op = std::move(op);
    e.errnum = errnum;
    e.message = (what.empty() ? e.op : what + ": " + e.op) + " failed: " + std::strerror(errnum);
    return e;
  }
};

}  // namespace tsvirt::vmm
