// Error conversion: see errors.h.
#include "binding/errors.h"

#include <string.h>

namespace tsvirt::binding {

namespace {

struct FactoryRef {
  Napi::FunctionReference ref;
};

// One factory per Node environment (worker threads have their own).
FactoryRef* factory_for(Napi::Env env) { return env.GetInstanceData<FactoryRef>(); }

Napi::Error build(Napi::Env env, const char* kind, const std::string& message,
                  const std::string& op, const std::string& code) {
  FactoryRef* f = factory_for(env);
  if (f && !f->ref.IsEmpty()) {
    Napi::Value v = f->ref.Call({Napi::String::New(env, kind), Napi::String::New(env, message),
                                 op.empty() ? env.Undefined() : Napi::String::New(env, op),
                                 code.empty() ? env.Undefined() : Napi::String::New(env, code)});
    if (v.IsObject()) return Napi::Error(env, v);
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("kind", Napi::String::New(env, kind));
  if (!op.empty()) e.Set("op", Napi::String::New(env, op));
  if (!code.empty()) e.Set("code", Napi::String::New(env, code));
  return e;
}

}  // namespace

void set_error_factory(Napi::Env env, Napi::Function factory) {
  FactoryRef* f = factory_for(env);
  if (!f) {
    f = new FactoryRef();
    env.SetInstanceData<FactoryRef>(f);
  }
  f->ref = Napi::Persistent(factory);
}

Napi::Error make_error(Napi::Env env, const vmm::Error& error) {
  std::string code;
  if (error.kind == vmm::ErrorKind::kHost && error.errnum != 0) {
    const char* name = strerrorname_np(error.errnum);
    code = name ? name : std::to_string(error.errnum);
  }
  return build(env, vmm::error_kind_name(error.kind), error.message, error.op, code);
}

Napi::Error usage_error(Napi::Env env, const std::string& message) {
  return build(env, "usage", message, "", "");
}

}  // namespace tsvirt::binding
