{
  "targets": [
    {
      "target_name": "kdasr_native",
      "sources": ["csrc/napi.c", "csrc/gemm.c", "csrc/activations.c", "csrc/losses.c", "csrc/optimizers.c", "csrc/runtime.c"],
      "include_dirs": ["<!@(node scripts/blas-flags.mjs include)"],
      "cflags": ["-std=gnu11", "-O3", "-march=x86-64-v3", "-mtune=generic", "-fopenmp-simd", "-pthread", "-fno-math-errno", "-fno-trapping-math", "-fvisibility=hidden", "-Wall", "-Wno-unknown-pragmas"],
      "cflags!": ["-O2", "-O1", "-O0"],
      "ldflags": ["-pthread"],
      "libraries": ["<!@(node scripts/blas-flags.mjs libs)", "-lm"]
    }
  ]
}
