// Turning vmm errors and bad arguments into JavaScript exceptions.
//
// The TypeScript loader registers a factory (setErrorFactory) that builds its VmmError;
// every native failure is thrown as factory(kind, message, op, code) so callers see one
// error class with a stable kind ('invalid-argument', 'unsupported', 'host', 'state',
// 'no-backend', 'usage'), the failing host call (op) and the errno name (code). Without a
// factory a plain Error with the same properties is thrown.
#pragma once

#include <napi.h>

#include <string>

#include "vmm/error.h"

namespace tsvirt::binding {

void set_error_factory(Napi::Env env, Napi::Function factory);
Napi::Error make_error(Napi::Env env, const vmm::Error& error);
// A call with wrong arguments: kind 'usage', message spelling the expected signature.
Napi::Error usage_error(Napi::Env env, const std::string& message);

// Throws (C++ exception carrying the JS error) when e is set.
inline void check(Napi::Env env, const vmm::Error& e) {
  if (e) throw make_error(env, e);
}

}  // namespace tsvirt::binding
