// N-API entry point of the tsvirt vmm.
//
// This file only registers the addon's exports; the vmm (VM objects, vCPUs, in-vmm devices)
// and its backends live beside it in native/. The TypeScript side loads this module through
// exactly one loader (src/emulator/vmm/native.ts) and never sees anything but typed wrappers.
#include <napi.h>

namespace {

// The ABI version of the binding: the TypeScript loader refuses an addon built from a
// different tree instead of failing later on a missing export.
constexpr uint32_t kBindingAbi = 1;

Napi::Value AbiVersion(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), kBindingAbi);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Function::New(env, AbiVersion, "abiVersion"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tsvirt_vmm, Init)
