{
  "targets": [
    {
      "target_name": "hnas",
      "sources": [
        "native/core/thread_pool.cpp",
        "native/core/buffer_pool.cpp",
        "native/core/peak.cpp",
        "native/core/cpu_features.cpp",
        "native/core/gemm.cpp",
        "native/core/gemm_kernels_portable.cpp",
        "native/core/gemm_kernels_avx2.cpp",
        "native/core/gemm_kernels_avx512.cpp",
        "native/ops/conv2d.cpp",
        "native/ops/batch_norm.cpp",
        "native/ops/activation.cpp",
        "native/ops/pool2d.cpp",
        "native/ops/linear.cpp",
        "native/ops/tensor_ops.cpp",
        "native/engine/graph.cpp",
        "native/engine/executor.cpp",
        "native/engine/engine.cpp",
        "native/addon/addon.cpp",
        "native/addon/network_wrap.cpp"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fexceptions"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17"
      },
      "msvs_settings": {
        "VCCLCompilerSettings": { "ExceptionHandling": 1 }
      }
    }
  ]
}
