/*
 * oneMKL chooses its code paths by CPU vendor before it looks at the CPU's features: on an AMD CPU the SGEMM that
 * libtorch bundles (and DJL's PyTorch engine loads) runs generic kernels, although the CPU has the AVX2/AVX-512 the
 * Intel kernels use. oneMKL asks this one exported function whether the CPU is Intel's; preloading this library
 * (LD_PRELOAD) answers yes, so oneMKL dispatches on the features. BENCHMARKS.md, "oneMKL on AMD CPUs", has the
 * measurements and the checks; ./bench.sh --mkl-intel-paths builds and preloads it for the JVM side.
 *
 *   cc -O2 -shared -fPIC -o libmkl_intel_paths.so benchmarks/mkl/mkl_intel_paths.c
 *   LD_PRELOAD=$PWD/libmkl_intel_paths.so java -javaagent:... -jar app.jar
 *
 * Use it only on CPUs with the instruction sets oneMKL then selects (AVX2; AVX-512 where the CPU reports it); it
 * changes nothing on Intel CPUs and nothing in processes without oneMKL.
 */
int mkl_serv_intel_cpu_true(void) {
    return 1;
}
