// N-API entry point of the tsvirt vmm.
//
// Registers the addon's exports: the Vm class (binding/vm_object.h), backend probing,
// and the error factory hook. The vmm itself (VM objects, vCPUs, in-vmm devices) and its
// backends live beside this folder in native/. The TypeScript side loads this module
// through exactly one loader (src/emulator/vmm/native.ts) and sees only typed wrappers.
#include <napi.h>

#include "binding/errors.h"
#include "binding/exit_bridge.h"
#include "binding/state_codec.h"
#include "binding/vm_object.h"
#include "vmm/backend_select.h"

namespace {

using namespace tsvirt;

// The ABI version of the binding: the TypeScript loader refuses an addon built from a
// different tree instead of failing later on a missing export.
constexpr uint32_t kBindingAbi = 6;

Napi::Value AbiVersion(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), kBindingAbi);
}

Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) {
    throw binding::usage_error(info.Env(), "setErrorFactory(factory): factory must be a function");
  }
  binding::set_error_factory(info.Env(), info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value ProbeBackends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vmm::BackendProbe p = vmm::probe_backends();
  Napi::Object o = Napi::Object::New(env);
  o.Set("softBuilt", Napi::Boolean::New(env, p.soft_built));
  o.Set("kvmOpens", Napi::Boolean::New(env, p.kvm_opens));
  o.Set("hardwareVirtualization", Napi::Boolean::New(env, p.hw_virt));
  o.Set("kvmDetail", Napi::String::New(env, p.kvm_detail));
  o.Set("auto", p.auto_choice == vmm::BackendKind::kAuto
                    ? env.Null()
                    : Napi::String::New(env, vmm::backend_kind_name(p.auto_choice)));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Function::New(env, AbiVersion, "abiVersion"));
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactory, "setErrorFactory"));
  exports.Set("probeBackends", Napi::Function::New(env, ProbeBackends, "probeBackends"));
  exports.Set("Vm", binding::VmObject::Define(env));
  exports.Set("exitWordsPerVcpu", Napi::Number::New(env, binding::kWordsPerVcpu));
  exports.Set("stateWords", Napi::Number::New(env, binding::kStateWords));
  exports.Set("notifyBatch", Napi::Number::New(env, binding::kNotifyBatch));
  exports.Set("notifyEntryWords", Napi::Number::New(env, binding::kNotifyEntryWords));
  return exports;
}

}  // namespace

NODE_API_MODULE(tsvirt_vmm, Init)
