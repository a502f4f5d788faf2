package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The GEMMs of one W2 training step, alone, in libtorch through DJL (BENCHMARKS.md, "The LoRA training step"): what
 * the step's arithmetic costs on this side, to set against {@code peft_reference.py gemm} (the same ops in Python's
 * torch). Prints the median µs of each op over {@code rounds} x 200 calls.
 *
 * <pre>
 * java -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1 \
 *   -cp benchmarks/target/benchmarks.jar io.peft4j.bench.GemmProbe
 * </pre>
 */
public final class GemmProbe {

    private GemmProbe() {}

    public static void main(String[] args) {
        int calls = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomUniform(-1, 1, new Shape(64, 1024));
            NDArray w = m.randomUniform(-1, 1, new Shape(1024, 1024));
            NDArray bias = m.randomUniform(-1, 1, new Shape(1024));
            NDArray a = m.randomUniform(-1, 1, new Shape(8, 1024));
            NDArray b = m.randomUniform(-1, 1, new Shape(1024, 8));
            NDArray h = m.randomUniform(-1, 1, new Shape(64, 8));
            time("linear(x, W, b)   [64,1024]x[1024,1024]^T+b", calls, () -> Linear.linear(x, w, bias).head());
            time("g.matMul(W)       [64,1024]x[1024,1024]", calls, () -> x.matMul(w));
            time("gT.matMul(x)      [1024,64]x[64,1024] (dW)", calls, () -> x.transpose().matMul(x));
            time("linear(x, A)      [64,1024]x[8,1024]^T", calls, () -> Linear.linear(x, a).head());
            time("linear(h, B)      [64,8]x[1024,8]^T", calls, () -> Linear.linear(h, b).head());
            time("g.matMul(B)       [64,1024]x[1024,8]", calls, () -> x.matMul(b));
            time("gT.matMul(x) dA   [8,64]x[64,1024]", calls, () -> h.transpose().matMul(x));
            time("relu              [64,1024]", calls, () -> ai.djl.nn.Activation.relu(x));
        }
    }

    private static void time(String what, int calls, Supplier<NDArray> op) {
        for (int i = 0; i < calls; i++) {
            op.get().close();
        }
        long[] t = new long[calls];
        for (int i = 0; i < calls; i++) {
            long t0 = System.nanoTime();
            NDArray r = op.get();
            t[i] = System.nanoTime() - t0;
            r.close();
        }
        Arrays.sort(t);
        System.out.printf(Locale.ROOT, "GEMM %-46s %9.1f µs%n", what, t[calls / 2] / 1e3);
    }
}
