package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Inference forward pass of one small model on a fixed input, in the JVM kind and with the adapters each subclass
 * sets up ({@link LinearForward}, {@link DummyForward}). Every array a pass creates is freed.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 3, time = 1)
public abstract class ModelForward {

    private NDManager manager;
    private ParameterStore store;
    private Block model;
    private NDArray x;

    /** The JVM kind this benchmark must run in. */
    protected abstract Jvm jvm();

    /** Builds and initialises the model (its arrays on {@code manager}). */
    protected abstract Block build(NDManager manager);

    /** The input of every pass. */
    protected abstract NDArray input(NDManager manager);

    /** Injects adapters (API forks). */
    protected void adapt(Block model) {}

    /** Checks the set-up after the first forward pass. */
    protected void verify(Block model) {}

    @Setup(Level.Trial)
    public void setUp() {
        jvm().require();
        manager = NDManager.newBaseManager();
        store = new ParameterStore(manager, false);
        model = build(manager);
        adapt(model);
        x = input(manager);
        Models.forward(model, store, manager, x);
        verify(model);
    }

    @Benchmark
    public long forward() {
        return Models.forward(model, store, manager, x);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        verify(model);
        manager.close();
    }
}
