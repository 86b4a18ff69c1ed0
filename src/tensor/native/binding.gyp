{
  "targets": [
    {
      "target_name": "distilbert_native",
      "sources": [
        "addon.cc",
        "gemm.cc",
        "gemm_int8.cc",
        "int8_generic.cc",
        "set_generic.cc",
        "kernel_set.cc",
        "kernels.cc",
        "pool.cc"
      ],
      "cflags": ["-O3", "-fno-trapping-math", "-fopenmp-simd"],
      "cflags_cc": ["-O3", "-std=c++17"],
      "conditions": [
        ["target_arch=='x64'", {
          "dependencies": ["distilbert_avx2", "distilbert_avx512", "distilbert_avx_vnni", "distilbert_avx512_vnni"]
        }],
        ["target_arch=='arm64'", {
          "sources": ["set_neon.cc"],
          "dependencies": ["distilbert_neon_dotprod"]
        }]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "distilbert_avx2",
          "type": "static_library",
          "sources": ["set_avx2.cc", "int8_avx2.cc"],
          "cflags": ["-fPIC", "-O3", "-fno-trapping-math", "-fopenmp-simd", "-mavx2", "-mfma"],
          "cflags_cc": ["-std=c++17"],
          "xcode_settings": {"OTHER_CFLAGS": ["-mavx2", "-mfma"]}
        },
        {
          "target_name": "distilbert_avx512",
          "type": "static_library",
          "sources": ["set_avx512.cc"],
          "cflags": ["-fPIC", "-O3", "-fno-trapping-math", "-fopenmp-simd", "-mavx512f", "-mavx2", "-mfma"],
          "cflags_cc": ["-std=c++17"],
          "xcode_settings": {"OTHER_CFLAGS": ["-mavx512f", "-mavx2", "-mfma"]}
        },
        {
          "target_name": "distilbert_avx_vnni",
          "type": "static_library",
          "sources": ["int8_avx_vnni.cc"],
          "cflags": ["-fPIC", "-O3", "-fno-trapping-math", "-mavx2", "-mfma", "-mavxvnni"],
          "cflags_cc": ["-std=c++17"],
          "xcode_settings": {"OTHER_CFLAGS": ["-mavx2", "-mfma", "-mavxvnni"]}
        },
        {
          "target_name": "distilbert_avx512_vnni",
          "type": "static_library",
          "sources": ["int8_avx512_vnni.cc"],
          "cflags": ["-fPIC", "-O3", "-fno-trapping-math", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512vnni"],
          "cflags_cc": ["-std=c++17"],
          "xcode_settings": {"OTHER_CFLAGS": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512vnni"]}
        }
      ]
    }],
    ["target_arch=='arm64'", {
      "targets": [
        {
          "target_name": "distilbert_neon_dotprod",
          "type": "static_library",
          "sources": ["int8_neon.cc"],
          "cflags": ["-fPIC", "-O3", "-fno-trapping-math", "-march=armv8.2-a+dotprod"],
          "cflags_cc": ["-std=c++17"],
          "xcode_settings": {"OTHER_CFLAGS": ["-march=armv8.2-a+dotprod"]}
        }
      ]
    }]
  ]
}
