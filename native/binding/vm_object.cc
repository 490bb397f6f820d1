// VmObject: see vm_object.h.
#include "binding/vm_object.h"

#include "binding/args.h"
#include "binding/errors.h"
#include "binding/state_codec.h"

namespace tsvirt::binding {

using vmm::Error;

namespace {

vmm::IrqOp irq_op(const Napi::CallbackInfo& info, size_t i, const char* method) {
  return static_cast<vmm::IrqOp>(int_arg(info, i, method, "op (0 assert, 1 deassert, 2 pulse)", 0, 2));
}

vmm::BackendKind backend_kind(Napi::Env env, const std::string& name) {
  if (name == "auto") return vmm::BackendKind::kAuto;
  if (name == "soft") return vmm::BackendKind::kSoft;
  if (name == "kvm") return vmm::BackendKind::kKvm;
  throw usage_error(env, "Vm: backend must be 'soft', 'kvm' or 'auto', not '" + name + "'");
}

}  // namespace

Napi::Function VmObject::Define(Napi::Env env) {
  return DefineClass(
      env, "Vm",
      {
          InstanceMethod("backendName", &VmObject::BackendName),
          InstanceMethod("memory", &VmObject::Memory),
          InstanceMethod("lowmemSize", &VmObject::LowmemSize),
          InstanceMethod("highmemSize", &VmObject::HighmemSize),
          InstanceMethod("exitBuffer", &VmObject::ExitBuffer),
          InstanceMethod("notifyBuffer", &VmObject::NotifyBuffer),
          InstanceMethod("addPostedWrite", &VmObject::AddPostedWrite),
          InstanceMethod("removePostedWrite", &VmObject::RemovePostedWrite),
          InstanceMethod("setPortReadValue", &VmObject::SetPortReadValue),
          InstanceMethod("setPciConf1Latch", &VmObject::SetPciConf1Latch),
          InstanceMethod("pciConf1Address", &VmObject::PciConf1Address),
          InstanceMethod("setPciConf1Address", &VmObject::SetPciConf1Address),
          InstanceMethod("allocSegment", &VmObject::AllocSegment),
          InstanceMethod("mapSegment", &VmObject::MapSegment),
          InstanceMethod("unmapSegment", &VmObject::UnmapSegment),
          InstanceMethod("invalidateCode", &VmObject::InvalidateCode),
          InstanceMethod("createVcpu", &VmObject::CreateVcpu),
          InstanceMethod("activateVcpu", &VmObject::ActivateVcpu),
          InstanceMethod("getState", &VmObject::GetState),
          InstanceMethod("setState", &VmObject::SetState),
          InstanceMethod("getMsr", &VmObject::GetMsr),
          InstanceMethod("setMsr", &VmObject::SetMsr),
          InstanceMethod("getCpuid", &VmObject::GetCpuid),
          InstanceMethod("setCpuid", &VmObject::SetCpuid),
          InstanceMethod("setCapability", &VmObject::SetCapability),
          InstanceMethod("start", &VmObject::Start),
          InstanceMethod("stop", &VmObject::Stop),
          InstanceMethod("pause", &VmObject::Pause),
          InstanceMethod("resume", &VmObject::Resume),
          InstanceMethod("paused", &VmObject::Paused),
          InstanceMethod("running", &VmObject::Running),
          InstanceMethod("suspend", &VmObject::Suspend),
          InstanceMethod("suspended", &VmObject::Suspended),
          InstanceMethod("lapicIrq", &VmObject::LapicIrq),
          InstanceMethod("lapicLocalIrq", &VmObject::LapicLocalIrq),
          InstanceMethod("msi", &VmObject::Msi),
          InstanceMethod("ioapicIrq", &VmObject::IoapicIrq),
          InstanceMethod("isaIrq", &VmObject::IsaIrq),
          InstanceMethod("isaSetTrigger", &VmObject::IsaSetTrigger),
          InstanceMethod("nmi", &VmObject::Nmi),
          InstanceMethod("injectException", &VmObject::InjectException),
          InstanceMethod("rtcRead", &VmObject::RtcRead),
          InstanceMethod("rtcWrite", &VmObject::RtcWrite),
          InstanceMethod("rtcSetTime", &VmObject::RtcSetTime),
          InstanceMethod("rtcGetTime", &VmObject::RtcGetTime),
          InstanceMethod("stats", &VmObject::Stats),
          InstanceMethod("hpetCapabilities", &VmObject::HpetCapabilities),
          InstanceMethod("deviceStats", &VmObject::DeviceStats),
          InstanceMethod("destroy", &VmObject::Destroy),
      });
}

VmObject::VmObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VmObject>(info) {
  Napi::Env env = info.Env();
  const char* sig =
      "new Vm({ backend, memorySize, vcpus, x2apic, rtcLocaltime, exitSpinMicros, postedRingEntries })";
  if (info.Length() < 1 || !info[0].IsObject()) throw usage_error(env, std::string(sig) + ": missing options");
  Napi::Object o = info[0].As<Napi::Object>();
  auto need = [&](const char* key) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) throw usage_error(env, std::string(sig) + ": missing '" + key + "'");
    return v;
  };
  vmm::VmConfig c;
  Napi::Value backend = need("backend");
  if (!backend.IsString()) throw usage_error(env, std::string(sig) + ": 'backend' must be a string");
  c.backend = backend_kind(env, backend.As<Napi::String>().Utf8Value());
  Napi::Value mem = need("memorySize");
  Napi::Value cpus = need("vcpus");
  if (!mem.IsNumber() || !cpus.IsNumber()) {
    throw usage_error(env, std::string(sig) + ": 'memorySize' and 'vcpus' must be numbers");
  }
  double m = mem.As<Napi::Number>().DoubleValue();
  double n = cpus.As<Napi::Number>().DoubleValue();
  if (!(m >= 0 && m <= 9007199254740992.0 && m == static_cast<double>(static_cast<uint64_t>(m)))) {
    throw usage_error(env, std::string(sig) + ": 'memorySize' must be a non-negative integer");
  }
  if (!(n >= 1 && n <= vmm::Vm::kMaxVcpus && n == static_cast<int>(n))) {
    throw usage_error(env, std::string(sig) + ": 'vcpus' must be an integer in 1.." +
                               std::to_string(vmm::Vm::kMaxVcpus));
  }
  c.memory_size = static_cast<uint64_t>(m);
  c.max_vcpus = static_cast<int>(n);
  c.x2apic = o.Get("x2apic").ToBoolean().Value();
  c.rtc_localtime = o.Get("rtcLocaltime").ToBoolean().Value();
  check(env, vmm::Vm::create(c, &vm_));
  exit_words_.reset(new uint32_t[static_cast<size_t>(c.max_vcpus) * kWordsPerVcpu]());
  uint32_t spin_us = 0;
  Napi::Value spin = o.Get("exitSpinMicros");
  if (!spin.IsUndefined()) {
    if (!spin.IsNumber() || spin.As<Napi::Number>().DoubleValue() < 0 ||
        spin.As<Napi::Number>().DoubleValue() > 10000) {
      throw usage_error(env, std::string(sig) + ": 'exitSpinMicros' must be a number in 0..10000");
    }
    spin_us = static_cast<uint32_t>(spin.As<Napi::Number>().DoubleValue());
  }
  uint32_t ring = kDefaultPostedRing;
  Napi::Value ring_v = o.Get("postedRingEntries");
  if (!ring_v.IsUndefined()) {
    double d = ring_v.IsNumber() ? ring_v.As<Napi::Number>().DoubleValue() : 0;
    uint32_t r = d >= 1 && d <= kMaxPostedRing && d == static_cast<uint32_t>(d) ? static_cast<uint32_t>(d) : 0;
    if (r == 0 || (r & (r - 1)) != 0) {
      throw usage_error(env, std::string(sig) + ": 'postedRingEntries' must be a power of two in 1.." +
                                 std::to_string(kMaxPostedRing));
    }
    ring = r;
  }
  bridge_ = std::make_unique<ExitBridge>(vm_.get(), exit_words_.get(), c.max_vcpus, spin_us, ring);
  bridge_->set_run_done_hook([this] { self_while_running_.Reset(); });
  env_ = env;
  napi_add_env_cleanup_hook(env, cleanup_hook, this);
  hook_added_ = true;
}

VmObject::~VmObject() {
  teardown();
  if (hook_added_) napi_remove_env_cleanup_hook(env_, cleanup_hook, this);
}

void VmObject::cleanup_hook(void* arg) {
  auto* self = static_cast<VmObject*>(arg);
  self->hook_added_ = false;
  self->teardown();
}

void VmObject::teardown() {
  if (!vm_) return;
  vm_->stop();
  if (bridge_) bridge_->cancel();
  vm_->join();
  vm_.reset();
}

vmm::Vm& VmObject::vm(Napi::Env env) {
  if (!vm_) throw make_error(env, Error::state("the VM has been destroyed"));
  return *vm_;
}

vmm::Vcpu& VmObject::vcpu(Napi::Env env, const Napi::Value& id) {
  if (!id.IsNumber()) throw usage_error(env, "vcpu id must be a number");
  double d = id.As<Napi::Number>().DoubleValue();
  vmm::Vcpu* v = nullptr;
  if (d == static_cast<int>(d)) v = vm(env).vcpu(static_cast<int>(d));
  if (!v) {
    throw make_error(env, Error::invalid("no vCPU " + std::to_string(static_cast<long long>(d)) +
                                             " (create it first)"));
  }
  return *v;
}

Napi::ArrayBuffer VmObject::external(Napi::Env env, void* data, size_t length) {
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, data, length);
  buffers_.push_back(Napi::Persistent(ab));
  return ab;
}

// ---- memory ---------------------------------------------------------------------------

Napi::Value VmObject::BackendName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), vm(info.Env()).backend_name());
}

Napi::Value VmObject::Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vmm::Vm& v = vm(env);
  if (memory_.IsEmpty()) {
    memory_ = Napi::Persistent(external(env, v.memory().sysmem(), v.memory().size()));
  }
  return memory_.Value();
}

Napi::Value VmObject::LowmemSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(vm(info.Env()).memory().lowmem()));
}

Napi::Value VmObject::HighmemSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(vm(info.Env()).memory().highmem()));
}

Napi::Value VmObject::ExitBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vmm::Vm& v = vm(env);
  if (exit_buffer_.IsEmpty()) {
    size_t bytes = static_cast<size_t>(v.max_vcpus()) * kWordsPerVcpu * sizeof(uint32_t);
    exit_buffer_ = Napi::Persistent(external(env, exit_words_.get(), bytes));
  }
  return exit_buffer_.Value();
}

Napi::Value VmObject::NotifyBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vm(env);
  if (notify_buffer_.IsEmpty()) {
    size_t bytes = static_cast<size_t>(kNotifyBatch) * kNotifyEntryWords * sizeof(uint32_t);
    notify_buffer_ = Napi::Persistent(external(env, bridge_->notify_words(), bytes));
  }
  return notify_buffer_.Value();
}

Napi::Value VmObject::AddPostedWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* m = "addPostedWrite(space (0 port, 1 mmio), base, length, width, datamatch (-1: none))";
  int space = static_cast<int>(int_arg(info, 0, m, "space", 0, 1));
  uint64_t base = u53_arg(info, 1, m, "base");
  uint64_t length = u53_arg(info, 2, m, "length");
  int width = static_cast<int>(int_arg(info, 3, m, "width", 1, 8));
  int64_t dm = int_arg(info, 4, m, "datamatch", -1, 9007199254740991ll);
  uint32_t id = 0;
  check(env, vm(env).posted_writes().add(static_cast<vmm::PostedSpace>(space), base, length, width,
                                         dm >= 0, dm >= 0 ? static_cast<uint64_t>(dm) : 0, &id));
  return Napi::Number::New(env, id);
}

Napi::Value VmObject::RemovePostedWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = static_cast<uint32_t>(int_arg(info, 0, "removePostedWrite(id)", "id", 1, 0xFFFFFFFFll));
  check(env, vm(env).posted_writes().remove(id));
  bridge_->note_range_removed();
  return env.Undefined();
}

Napi::Value VmObject::SetPortReadValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* m = "setPortReadValue(port, value (0-255, -1: none))";
  uint16_t port = static_cast<uint16_t>(int_arg(info, 0, m, "port", 0, 0xFFFF));
  int32_t value = static_cast<int32_t>(int_arg(info, 1, m, "value", -1, 255));
  check(env, vm(env).port_read_values().set(port, value));
  return env.Undefined();
}

Napi::Value VmObject::SetPciConf1Latch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vm(env).pci_conf1().set_enabled(bool_arg(info, 0, "setPciConf1Latch(enabled)", "enabled"));
  return env.Undefined();
}

Napi::Value VmObject::PciConf1Address(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Napi::Number::New(env, vm(env).pci_conf1().address());
}

Napi::Value VmObject::SetPciConf1Address(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* m = "setPciConf1Address(value (0-0xFFFFFFFF))";
  vm(env).pci_conf1().set_address(static_cast<uint32_t>(int_arg(info, 0, m, "value", 0, 0xFFFFFFFFll)));
  return env.Undefined();
}

Napi::Value VmObject::AllocSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* m = "allocSegment(id, name, size)";
  int id = static_cast<int>(int_arg(info, 0, m, "id", 1, vmm::layout::kMaxSegments - 1));
  std::string name = string_arg(info, 1, m, "name");
  uint64_t size = u53_arg(info, 2, m, "size");
  vmm::Vm& v = vm(env);
  check(env, v.alloc_segment(id, name, size));
  const auto* seg = v.memory().segment(id);
  return external(env, seg->host, seg->size);
}

Napi::Value VmObject::MapSegment(const Napi::CallbackInfo& info) {
  const char* m = "mapSegment(gpa, segid, offset, length, writable)";
  uint64_t gpa = u53_arg(info, 0, m, "gpa");
  int seg = static_cast<int>(int_arg(info, 1, m, "segid", 0, vmm::layout::kMaxSegments - 1));
  uint64_t off = u53_arg(info, 2, m, "offset");
  uint64_t len = u53_arg(info, 3, m, "length");
  bool writable = bool_arg(info, 4, m, "writable");
  check(info.Env(), vm(info.Env()).map_segment(gpa, seg, off, len, writable));
  return info.Env().Undefined();
}

Napi::Value VmObject::UnmapSegment(const Napi::CallbackInfo& info) {
  const char* m = "unmapSegment(gpa, length)";
  uint64_t gpa = u53_arg(info, 0, m, "gpa");
  uint64_t len = u53_arg(info, 1, m, "length");
  check(info.Env(), vm(info.Env()).unmap_segment(gpa, len));
  return info.Env().Undefined();
}

Napi::Value VmObject::InvalidateCode(const Napi::CallbackInfo& info) {
  const char* m = "invalidateCode(gpa, length)";
  uint64_t gpa = u53_arg(info, 0, m, "gpa");
  uint64_t len = u53_arg(info, 1, m, "length");
  vm(info.Env()).invalidate_code(gpa, len);
  return info.Env().Undefined();
}

// ---- vCPUs and registers ----------------------------------------------------------------

Napi::Value VmObject::CreateVcpu(const Napi::CallbackInfo& info) {
  int id = static_cast<int>(int_arg(info, 0, "createVcpu(id)", "id", 0, vmm::Vm::kMaxVcpus - 1));
  check(info.Env(), vm(info.Env()).create_vcpu(id));
  return info.Env().Undefined();
}

Napi::Value VmObject::ActivateVcpu(const Napi::CallbackInfo& info) {
  check(info.Env(), vcpu(info.Env(), arg(info, 0, "activateVcpu(id)", "id")).activate());
  return info.Env().Undefined();
}

Napi::Value VmObject::GetState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vmm::Vcpu& v = vcpu(env, arg(info, 0, "getState(vcpu, out)", "vcpu"));
  Napi::Value out = arg(info, 1, "getState(vcpu, out)", "out");
  if (!out.IsTypedArray() || out.As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array ||
      out.As<Napi::TypedArray>().ElementLength() < kStateWords) {
    throw usage_error(env, "getState(vcpu, out): 'out' must be a BigUint64Array of 68 words");
  }
  x86::CpuState s;
  check(env, v.get_state(&s));
  encode_state(s, out.As<Napi::BigUint64Array>().Data());
  return env.Undefined();
}

Napi::Value VmObject::SetState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vmm::Vcpu& v = vcpu(env, arg(info, 0, "setState(vcpu, state)", "vcpu"));
  Napi::Value in = arg(info, 1, "setState(vcpu, state)", "state");
  if (!in.IsTypedArray() || in.As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array ||
      in.As<Napi::TypedArray>().ElementLength() < kStateWords) {
    throw usage_error(env, "setState(vcpu, state): 'state' must be a BigUint64Array of 68 words");
  }
  x86::CpuState s;
  decode_state(in.As<Napi::BigUint64Array>().Data(), &s);
  check(env, v.set_state(s));
  return env.Undefined();
}

Napi::Value VmObject::GetMsr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vmm::Vcpu& v = vcpu(env, arg(info, 0, "getMsr(vcpu, index)", "vcpu"));
  uint32_t index = static_cast<uint32_t>(int_arg(info, 1, "getMsr(vcpu, index)", "index", 0, 0xFFFFFFFFll));
  uint64_t value = 0;
  check(env, v.get_msr(index, &value));
  return Napi::BigInt::New(env, value);
}

Napi::Value VmObject::SetMsr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* m = "setMsr(vcpu, index, value)";
  vmm::Vcpu& v = vcpu(env, arg(info, 0, m, "vcpu"));
  uint32_t index = static_cast<uint32_t>(int_arg(info, 1, m, "index", 0, 0xFFFFFFFFll));
  check(env, v.set_msr(index, bigint_arg(info, 2, m, "value")));
  return env.Undefined();
}

Napi::Value VmObject::GetCpuid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vmm::Vcpu& v = vcpu(env, arg(info, 0, "getCpuid(vcpu)", "vcpu"));
  std::vector<vmm::CpuidEntry> entries;
  check(env, v.get_cpuid(&entries));
  Napi::Uint32Array out = Napi::Uint32Array::New(env, entries.size() * 7);
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    uint32_t* w = out.Data() + i * 7;
    w[0] = e.leaf; w[1] = e.subleaf; w[2] = e.has_subleaf ? 1 : 0;
    w[3] = e.eax; w[4] = e.ebx; w[5] = e.ecx; w[6] = e.edx;
  }
  return out;
}

Napi::Value VmObject::SetCpuid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* m = "setCpuid(vcpu, entries)";
  vmm::Vcpu& v = vcpu(env, arg(info, 0, m, "vcpu"));
  Napi::Value in = arg(info, 1, m, "entries");
  if (!in.IsTypedArray() || in.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      in.As<Napi::TypedArray>().ElementLength() % 7 != 0 ||
      in.As<Napi::TypedArray>().ElementLength() > 7 * 1024) {
    throw usage_error(env, std::string(m) + ": 'entries' must be a Uint32Array of 7-word entries "
                                            "(leaf, subleaf, hasSubleaf, eax, ebx, ecx, edx), at most 1024");
  }
  Napi::Uint32Array a = in.As<Napi::Uint32Array>();
  std::vector<vmm::CpuidEntry> entries(a.ElementLength() / 7);
  for (size_t i = 0; i < entries.size(); ++i) {
    const uint32_t* w = a.Data() + i * 7;
    entries[i].leaf = w[0];
    entries[i].subleaf = w[1];
    entries[i].has_subleaf = w[2] != 0;
    entries[i].eax = w[3];
    entries[i].ebx = w[4];
    entries[i].ecx = w[5];
    entries[i].edx = w[6];
  }
  check(env, v.set_cpuid(entries));
  return env.Undefined();
}

Napi::Value VmObject::SetCapability(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* m = "setCapability(vcpu, cap, on)";
  vmm::Vcpu& v = vcpu(env, arg(info, 0, m, "vcpu"));
  int cap = static_cast<int>(int_arg(info, 1, m, "cap", 0, 15));
  bool on = bool_arg(info, 2, m, "on");
  if (cap != static_cast<int>(vmm::Capability::kHaltExit) &&
      cap != static_cast<int>(vmm::Capability::kMtrapExit) &&
      cap != static_cast<int>(vmm::Capability::kPauseExit) &&
      cap != static_cast<int>(vmm::Capability::kBptExit)) {
    throw make_error(env, Error::unsupported(
                              "capability " + std::to_string(cap) +
                              " is not supported (hlt_exit 0, mtrap_exit 1, pause_exit 2, "
                              "bpt_exit 5 are)"));
  }
  check(env, v.set_capability(static_cast<vmm::Capability>(cap), on));
  return env.Undefined();
}

// ---- running ----------------------------------------------------------------------------

Napi::Value VmObject::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* m = "start(onExit, onEvent, onNotify?)";
  vmm::Vm& v = vm(env);
  if (!arg(info, 0, m, "onExit").IsFunction() || !arg(info, 1, m, "onEvent").IsFunction()) {
    throw usage_error(env, std::string(m) + ": onExit and onEvent must be functions");
  }
  napi_value on_notify = nullptr;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsFunction()) throw usage_error(env, std::string(m) + ": onNotify must be a function");
    on_notify = info[2];
  }
  if (bridge_->active()) throw make_error(env, Error::state("the VM is already running"));
  int count = 0;
  for (int i = 0; i < v.max_vcpus(); ++i) count += v.vcpu(i) ? 1 : 0;
  if (count == 0) throw make_error(env, Error::state("the VM has no vCPUs"));
  if (bridge_->start(env, info[0], info[1], on_notify, count) != napi_ok) {
    throw make_error(env, Error::host("napi_create_threadsafe_function", EAGAIN));
  }
  Error e = v.start(*bridge_);
  if (e) {
    // Nothing runs: end the bridge's run so a later start can succeed.
    bridge_->abandon(env);
    throw make_error(env, e);
  }
  self_while_running_ = Napi::Persistent(Value());
  return env.Undefined();
}

Napi::Value VmObject::Stop(const Napi::CallbackInfo& info) {
  if (vm_) vm_->stop();
  return info.Env().Undefined();
}

Napi::Value VmObject::Pause(const Napi::CallbackInfo& info) {
  vm(info.Env()).pause();
  return info.Env().Undefined();
}

Napi::Value VmObject::Resume(const Napi::CallbackInfo& info) {
  vm(info.Env()).resume();
  return info.Env().Undefined();
}

Napi::Value VmObject::Paused(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), vm(info.Env()).paused());
}

Napi::Value VmObject::Running(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), vm_ && bridge_->active());
}

Napi::Value VmObject::DeviceStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vmm::Vm::DeviceStats d = vm(env).device_stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("pitIrqs", Napi::Number::New(env, static_cast<double>(d.pit_irqs)));
  o.Set("pitPeriods", Napi::Number::New(env, static_cast<double>(d.pit_periods)));
  o.Set("rtcIrqs", Napi::Number::New(env, static_cast<double>(d.rtc_irqs)));
  o.Set("hpetIrqs", Napi::Number::New(env, static_cast<double>(d.hpet_irqs)));
  o.Set("hpetMatches", Napi::Number::New(env, static_cast<double>(d.hpet_matches)));
  o.Set("ioapicDeliveries", Napi::Number::New(env, static_cast<double>(d.ioapic_deliveries)));
  o.Set("timerCallbacks", Napi::Number::New(env, static_cast<double>(d.timer_callbacks)));
  return o;
}

Napi::Value VmObject::HpetCapabilities(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), vmm::Vm::hpet_capabilities());
}

Napi::Value VmObject::Suspend(const Napi::CallbackInfo& info) {
  int how = static_cast<int>(int_arg(info, 0, "suspend(how)", "how (1 reset, 2 poweroff, 3 halt, 4 triplefault)", 1, 4));
  vm(info.Env()).suspend(static_cast<vmm::SuspendHow>(how));
  return info.Env().Undefined();
}

Napi::Value VmObject::Suspended(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(vm(info.Env()).suspended()));
}

// ---- interrupts -------------------------------------------------------------------------

Napi::Value VmObject::LapicIrq(const Napi::CallbackInfo& info) {
  const char* m = "lapicIrq(vcpu, vector)";
  int cpu = static_cast<int>(int_arg(info, 0, m, "vcpu", 0, vmm::Vm::kMaxVcpus - 1));
  int vector = static_cast<int>(int_arg(info, 1, m, "vector", 0, 255));
  check(info.Env(), vm(info.Env()).lapic_irq(cpu, vector));
  return info.Env().Undefined();
}

Napi::Value VmObject::LapicLocalIrq(const Napi::CallbackInfo& info) {
  const char* m = "lapicLocalIrq(vcpu, lvt)";
  int cpu = static_cast<int>(int_arg(info, 0, m, "vcpu (-1: all)", -1, vmm::Vm::kMaxVcpus - 1));
  int lvt = static_cast<int>(int_arg(info, 1, m, "lvt", 0, 6));
  check(info.Env(), vm(info.Env()).lapic_local_irq(cpu, lvt));
  return info.Env().Undefined();
}

Napi::Value VmObject::Msi(const Napi::CallbackInfo& info) {
  const char* m = "msi(address, data)";
  uint64_t addr = u53_arg(info, 0, m, "address");
  uint64_t data = static_cast<uint64_t>(int_arg(info, 1, m, "data", 0, 0xFFFFFFFFll));
  check(info.Env(), vm(info.Env()).lapic_msi(addr, data));
  return info.Env().Undefined();
}

Napi::Value VmObject::IoapicIrq(const Napi::CallbackInfo& info) {
  const char* m = "ioapicIrq(pin, op)";
  int pin = static_cast<int>(int_arg(info, 0, m, "pin", 0, 255));
  check(info.Env(), vm(info.Env()).ioapic_irq_op(pin, irq_op(info, 1, m)));
  return info.Env().Undefined();
}

Napi::Value VmObject::IsaIrq(const Napi::CallbackInfo& info) {
  const char* m = "isaIrq(atpicIrq, ioapicPin, op)";
  int atpic = static_cast<int>(int_arg(info, 0, m, "atpicIrq (-1: none)", -1, 255));
  int pin = static_cast<int>(int_arg(info, 1, m, "ioapicPin (-1: none)", -1, 255));
  check(info.Env(), vm(info.Env()).isa_irq_op(atpic, pin, irq_op(info, 2, m)));
  return info.Env().Undefined();
}

Napi::Value VmObject::IsaSetTrigger(const Napi::CallbackInfo& info) {
  const char* m = "isaSetTrigger(irq, level)";
  int irq = static_cast<int>(int_arg(info, 0, m, "irq", 0, 255));
  check(info.Env(), vm(info.Env()).isa_set_irq_trigger(irq, bool_arg(info, 1, m, "level")));
  return info.Env().Undefined();
}

Napi::Value VmObject::Nmi(const Napi::CallbackInfo& info) {
  int cpu = static_cast<int>(int_arg(info, 0, "nmi(vcpu)", "vcpu", 0, vmm::Vm::kMaxVcpus - 1));
  check(info.Env(), vm(info.Env()).inject_nmi(cpu));
  return info.Env().Undefined();
}

Napi::Value VmObject::InjectException(const Napi::CallbackInfo& info) {
  const char* m = "injectException(vcpu, vector, hasErrorCode, errorCode)";
  int cpu = static_cast<int>(int_arg(info, 0, m, "vcpu", 0, vmm::Vm::kMaxVcpus - 1));
  int vector = static_cast<int>(int_arg(info, 1, m, "vector", 0, 255));
  bool has = bool_arg(info, 2, m, "hasErrorCode");
  uint32_t code = static_cast<uint32_t>(int_arg(info, 3, m, "errorCode", 0, 0xFFFFFFFFll));
  check(info.Env(), vm(info.Env()).inject_exception(cpu, vector, has, code));
  return info.Env().Undefined();
}

// ---- RTC and statistics -------------------------------------------------------------------

Napi::Value VmObject::RtcRead(const Napi::CallbackInfo& info) {
  int off = static_cast<int>(int_arg(info, 0, "rtcRead(offset)", "offset", 0, 127));
  uint8_t v = 0;
  vm(info.Env()).rtc().nvram_read(off, &v);
  return Napi::Number::New(info.Env(), v);
}

Napi::Value VmObject::RtcWrite(const Napi::CallbackInfo& info) {
  const char* m = "rtcWrite(offset, value)";
  int off = static_cast<int>(int_arg(info, 0, m, "offset", 0, 127));
  int val = static_cast<int>(int_arg(info, 1, m, "value", 0, 255));
  vm(info.Env()).rtc().nvram_write(off, static_cast<uint8_t>(val));
  return info.Env().Undefined();
}

Napi::Value VmObject::RtcSetTime(const Napi::CallbackInfo& info) {
  int64_t secs = int_arg(info, 0, "rtcSetTime(seconds)", "seconds", -(1ll << 40), 1ll << 40);
  vm(info.Env()).rtc().set_time(secs);
  return info.Env().Undefined();
}

Napi::Value VmObject::RtcGetTime(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(vm(info.Env()).rtc().get_time()));
}

Napi::Value VmObject::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vmm::Vcpu& v = vcpu(env, arg(info, 0, "stats(vcpu)", "vcpu"));
  vmm::Vcpu::Stats s = v.stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("exitsToHandler", Napi::Number::New(env, static_cast<double>(s.exits_to_handler)));
  o.Set("pioInVmm", Napi::Number::New(env, static_cast<double>(s.pio_in_vmm)));
  o.Set("mmioInVmm", Napi::Number::New(env, static_cast<double>(s.mmio_in_vmm)));
  o.Set("hltSleeps", Napi::Number::New(env, static_cast<double>(s.hlt_sleeps)));
  o.Set("interruptsInjected", Napi::Number::New(env, static_cast<double>(s.interrupts_injected)));
  o.Set("postedWrites", Napi::Number::New(env, static_cast<double>(s.posted_writes)));
  o.Set("postedFallbacks", Napi::Number::New(env, static_cast<double>(s.posted_fallbacks)));
  o.Set("lapicAccepted", Napi::Number::New(env, static_cast<double>(v.lapic().accepted())));
  o.Set("lapicTimerFires", Napi::Number::New(env, static_cast<double>(v.lapic().timer_fires())));
  return o;
}

Napi::Value VmObject::Destroy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (vm_ && bridge_->active()) {
    throw make_error(env, Error::state("stop the VM and wait for its run to end before destroying it"));
  }
  for (auto& ref : buffers_) {
    if (!ref.IsEmpty()) {
      Napi::ArrayBuffer ab = ref.Value();
      if (!ab.IsDetached()) ab.Detach();
    }
  }
  buffers_.clear();
  memory_.Reset();
  exit_buffer_.Reset();
  notify_buffer_.Reset();
  teardown();
  return env.Undefined();
}

}  // namespace tsvirt::binding
