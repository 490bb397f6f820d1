// Argument checking helpers for the N-API methods: each throws a usage error naming the
// method, the argument and what was expected. Numbers that stand for guest addresses or
// sizes must be non-negative integers no larger than 2^53.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "binding/errors.h"

namespace tsvirt::binding {

inline Napi::Value arg(const Napi::CallbackInfo& info, size_t i, const char* method,
                       const char* name) {
  if (i >= info.Length() || info[i].IsUndefined()) {
    throw usage_error(info.Env(), std::string(method) + ": missing argument '" + name + "'");
  }
  return info[i];
}

inline double number_arg(const Napi::CallbackInfo& info, size_t i, const char* method,
                         const char* name) {
  Napi::Value v = arg(info, i, method, name);
  if (!v.IsNumber()) {
    throw usage_error(info.Env(), std::string(method) + ": '" + name + "' must be a number");
  }
  return v.As<Napi::Number>().DoubleValue();
}

// An integer in [lo, hi].
inline int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const char* method,
                       const char* name, int64_t lo, int64_t hi) {
  double d = number_arg(info, i, method, name);
  if (!(d == static_cast<double>(static_cast<int64_t>(d))) || d < static_cast<double>(lo) ||
      d > static_cast<double>(hi)) {
    throw usage_error(info.Env(), std::string(method) + ": '" + name + "' must be an integer in " +
                                      std::to_string(lo) + ".." + std::to_string(hi));
  }
  return static_cast<int64_t>(d);
}

// A guest address or length: integer in [0, 2^53].
inline uint64_t u53_arg(const Napi::CallbackInfo& info, size_t i, const char* method,
                        const char* name) {
  return static_cast<uint64_t>(int_arg(info, i, method, name, 0, 1ll << 53));
}

inline bool bool_arg(const Napi::CallbackInfo& info, size_t i, const char* method,
                     const char* name) {
  Napi::Value v = arg(info, i, method, name);
  if (!v.IsBoolean()) {
    throw usage_error(info.Env(), std::string(method) + ": '" + name + "' must be a boolean");
  }
  return v.As<Napi::Boolean>().Value();
}

inline uint64_t bigint_arg(const Napi::CallbackInfo& info, size_t i, const char* method,
                           const char* name) {
  Napi::Value v = arg(info, i, method, name);
  if (!v.IsBigInt()) {
    throw usage_error(info.Env(), std::string(method) + ": '" + name + "' must be a bigint");
  }
  bool lossless = false;
  uint64_t r = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) {
    throw usage_error(info.Env(),
                      std::string(method) + ": '" + name + "' must fit in 64 unsigned bits");
  }
  return r;
}

inline std::string string_arg(const Napi::CallbackInfo& info, size_t i, const char* method,
                              const char* name) {
  Napi::Value v = arg(info, i, method, name);
  if (!v.IsString()) {
    throw usage_error(info.Env(), std::string(method) + ": '" + name + "' must be a string");
  }
  return v.As<Napi::String>().Utf8Value();
}

}  // namespace tsvirt::binding
