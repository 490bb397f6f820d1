// VmObject: the N-API class wrapping one vmm::Vm (exported as `Vm`).
//
// Thin by design: each method checks its arguments (usage errors spell the signature),
// calls the vmm, and turns a vmm::Error into the TypeScript VmmError. No policy lives
// here; defaults, option parsing and the exit dispatch table are in
// src/emulator/vmm/vmm.ts.
//
// Memory safety: guest memory, device segments and the exit buffer are external
// ArrayBuffers over vmm-owned memory; destroy() (and the finalizer) detach every one of
// them before the memory is freed, so a JavaScript view can never reach freed memory.
// While a run is in progress the object holds a strong reference to itself, so the garbage
// collector cannot free a VM whose vCPU threads are still calling back.
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "binding/exit_bridge.h"
#include "vmm/vm.h"

namespace tsvirt::binding {

class VmObject : public Napi::ObjectWrap<VmObject> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit VmObject(const Napi::CallbackInfo& info);
  ~VmObject() override;

 private:
  vmm::Vm& vm(Napi::Env env);
  vmm::Vcpu& vcpu(Napi::Env env, const Napi::Value& id);
  Napi::ArrayBuffer external(Napi::Env env, void* data, size_t length);
  void teardown();
  static void cleanup_hook(void* arg);

  Napi::Value BackendName(const Napi::CallbackInfo& info);
  Napi::Value Memory(const Napi::CallbackInfo& info);
  Napi::Value LowmemSize(const Napi::CallbackInfo& info);
  Napi::Value HighmemSize(const Napi::CallbackInfo& info);
  Napi::Value ExitBuffer(const Napi::CallbackInfo& info);
  Napi::Value NotifyBuffer(const Napi::CallbackInfo& info);
  Napi::Value AddPostedWrite(const Napi::CallbackInfo& info);
  Napi::Value RemovePostedWrite(const Napi::CallbackInfo& info);
  Napi::Value SetPortReadValue(const Napi::CallbackInfo& info);
  Napi::Value SetPciConf1Latch(const Napi::CallbackInfo& info);
  Napi::Value PciConf1Address(const Napi::CallbackInfo& info);
  Napi::Value SetPciConf1Address(const Napi::CallbackInfo& info);
  Napi::Value AllocSegment(const Napi::CallbackInfo& info);
  Napi::Value MapSegment(const Napi::CallbackInfo& info);
  Napi::Value UnmapSegment(const Napi::CallbackInfo& info);
  Napi::Value InvalidateCode(const Napi::CallbackInfo& info);
  Napi::Value CreateVcpu(const Napi::CallbackInfo& info);
  Napi::Value ActivateVcpu(const Napi::CallbackInfo& info);
  Napi::Value GetState(const Napi::CallbackInfo& info);
  Napi::Value SetState(const Napi::CallbackInfo& info);
  Napi::Value GetMsr(const Napi::CallbackInfo& info);
  Napi::Value SetMsr(const Napi::CallbackInfo& info);
  Napi::Value GetCpuid(const Napi::CallbackInfo& info);
  Napi::Value SetCpuid(const Napi::CallbackInfo& info);
  Napi::Value SetCapability(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Pause(const Napi::CallbackInfo& info);
  Napi::Value Resume(const Napi::CallbackInfo& info);
  Napi::Value Paused(const Napi::CallbackInfo& info);
  Napi::Value Running(const Napi::CallbackInfo& info);
  Napi::Value Suspend(const Napi::CallbackInfo& info);
  Napi::Value Suspended(const Napi::CallbackInfo& info);
  Napi::Value LapicIrq(const Napi::CallbackInfo& info);
  Napi::Value LapicLocalIrq(const Napi::CallbackInfo& info);
  Napi::Value Msi(const Napi::CallbackInfo& info);
  Napi::Value IoapicIrq(const Napi::CallbackInfo& info);
  Napi::Value IsaIrq(const Napi::CallbackInfo& info);
  Napi::Value IsaSetTrigger(const Napi::CallbackInfo& info);
  Napi::Value Nmi(const Napi::CallbackInfo& info);
  Napi::Value InjectException(const Napi::CallbackInfo& info);
  Napi::Value RtcRead(const Napi::CallbackInfo& info);
  Napi::Value RtcWrite(const Napi::CallbackInfo& info);
  Napi::Value RtcSetTime(const Napi::CallbackInfo& info);
  Napi::Value RtcGetTime(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value HpetCapabilities(const Napi::CallbackInfo& info);
  Napi::Value DeviceStats(const Napi::CallbackInfo& info);
  Napi::Value Destroy(const Napi::CallbackInfo& info);

  std::unique_ptr<vmm::Vm> vm_;
  std::unique_ptr<uint32_t[]> exit_words_;
  std::unique_ptr<ExitBridge> bridge_;
  std::vector<Napi::Reference<Napi::ArrayBuffer>> buffers_;  // detached on destroy
  Napi::Reference<Napi::ArrayBuffer> memory_;
  Napi::Reference<Napi::ArrayBuffer> exit_buffer_;
  Napi::Reference<Napi::ArrayBuffer> notify_buffer_;
  Napi::ObjectReference self_while_running_;
  napi_env env_ = nullptr;
  bool hook_added_ = false;
};

}  // namespace tsvirt::binding
