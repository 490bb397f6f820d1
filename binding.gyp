{
  "targets": [
    {
      "target_name": "tsvirt_vmm",
      "sources": [
        "native/binding/addon.cc"
      ],
      "include_dirs": [
        "<!@(node -p \"require('node-addon-api').include\")",
        "native"
      ],
      "defines": [ "NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED" ],
      "cflags!": [ "-fno-exceptions" ],
      "cflags_cc!": [ "-fno-exceptions", "-std=gnu++17" ],
      "cflags": [ "-Wall", "-Wextra", "-Werror", "-O2" ],
      "cflags_cc": [ "-std=c++17", "-Wall", "-Wextra", "-Werror", "-O2", "-fexceptions" ]
    }
  ]
}
