{
  "targets": [
    {
      "target_name": "tsvirt_vmm",
      "sources": [
        "native/binding/addon.cc",
        "native/binding/args.h",
        "native/binding/errors.cc",
        "native/binding/exit_bridge.cc",
        "native/binding/state_codec.cc",
        "native/binding/vm_object.cc",
        "native/vmm/backend_select.cc",
        "native/vmm/memory.cc",
        "native/vmm/posted_writes.cc",
        "native/vmm/soft_backend.cc",
        "native/vmm/timer.cc",
        "native/vmm/vcpu.cc",
        "native/vmm/vm.cc",
        "native/vmm/devices/vatpic.cc",
        "native/vmm/devices/vatpit.cc",
        "native/vmm/devices/vhpet.cc",
        "native/vmm/devices/vioapic.cc",
        "native/vmm/devices/vlapic.cc",
        "native/vmm/devices/vlapic_timer.cc",
        "native/vmm/devices/vpmtmr.cc",
        "native/vmm/devices/vrtc.cc",
        "native/kvm/kvm_state.cc",
        "native/kvm/kvm_vcpu.cc",
        "native/kvm/kvm_vm.cc",
        "<!@(ls -1 native/soft/*.cc)"
      ],
      "include_dirs": [
        "<!@(node -p \"require('node-addon-api').include\")",
        "native"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "TSVIRT_HAVE_SOFT_CPU=1"
      ],
      "cflags!": [
        "-fno-exceptions"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-std=gnu++17"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-Werror",
        "-O2"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-O2",
        "-fexceptions",
        "-fomit-frame-pointer"
      ],
      "libraries": [
        "-lpthread"
      ]
    }
  ]
}
