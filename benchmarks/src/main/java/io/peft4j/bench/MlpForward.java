package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Inference forward pass of the 4-layer MLP ({@code [64, width]} input), in the JVM kind and with the adapters each
 * subclass sets up. Every JVM also holds a second model ({@link Models.Decoy}), forwarded once at set-up: the
 * {@code untargeted} agent adapter targets it, so peft4j's registry is in use while the MLP itself is untargeted.
 *
 * <p>Setup, warm-up and measurement run on the same thread (DJL turns PyTorch's thread-local grad mode off on the
 * thread that starts the engine; set-up checks that the output records no autograd graph).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 3, time = 1)
public abstract class MlpForward {

    /** Width of every Linear layer. 64: dispatch-bound (worst case for any per-call overhead); 1024: GEMM-bound. */
    @Param({"64", "1024"})
    public int width;

    private NDManager manager;
    private ParameterStore store;
    private Block decoy;
    private Block model;
    private NDArray x;

    /** The JVM kind this benchmark must run in. */
    protected abstract Jvm jvm();

    /** The model (default: plain DJL Linear layers). */
    protected Block build(int width) {
        return Models.mlp(width);
    }

    /** Runs first in set-up, before any model is built (and before DJL's block classes are used). */
    protected void early() {}

    /** Injects adapters through the Java API (API forks). */
    protected void adapt(Block model) {}

    /** Checks, after the first forward pass, that the model is set up as this benchmark claims. */
    protected void verify(Block model, Block decoy) {}

    @Setup(Level.Trial)
    public void setUp() {
        jvm().require();
        early();
        manager = NDManager.newBaseManager();
        store = new ParameterStore(manager, false);
        decoy = new Models.Decoy(width);
        Models.initialize(decoy, manager, width);
        Models.forward(decoy, store, manager, Models.input(manager, width));
        model = build(width);
        Models.initialize(model, manager, width);
        adapt(model);
        x = Models.input(manager, width);
        try (NDManager pass = manager.newSubManager()) {
            x.tempAttach(pass);
            NDList out = model.forward(store, new NDList(x), false);
            if (out.head().hasGradient()) {
                throw new IllegalStateException("the forward pass records an autograd graph (grad mode on)");
            }
        }
        verify(model, decoy);
    }

    @Benchmark
    public long forward() {
        return Models.forward(model, store, manager, x);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        verify(model, decoy);
        manager.close();
    }

    static void check(boolean condition, String what) {
        if (!condition) {
            throw new IllegalStateException("benchmark set-up check failed: " + what);
        }
    }
}
