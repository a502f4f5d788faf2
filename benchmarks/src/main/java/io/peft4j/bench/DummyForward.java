package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import io.peft4j.testmodels.DummyModel;
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
 * W3 of the side-by-side comparison: inference forward pass of the DJL twin of PEFT's test {@code DummyModel}
 * ({@code Embedding(10,10) -> Linear(10,10) -> Linear(10,10)}, the golden case {@code a_lora_dummy}) on int64 ids
 * {@code [1, 8]}. Tiny: every op is dispatch-bound, so this measures per-op and per-hook costs.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 3, time = 1)
public abstract class DummyForward {

    /** The golden case's input shape. */
    static final Shape IDS = new Shape(1, 8);

    private NDManager manager;
    private ParameterStore store;
    private Block model;
    private NDArray ids;

    /** The JVM kind this benchmark must run in. */
    protected abstract Jvm jvm();

    /** Injects adapters (API forks). */
    protected void adapt(Block model) {}

    /** Checks the set-up after the first forward pass. */
    protected void verify(Block model) {}

    @Setup(Level.Trial)
    public void setUp() {
        jvm().require();
        manager = NDManager.newBaseManager();
        store = new ParameterStore(manager, false);
        model = new DummyModel();
        model.initialize(manager, DataType.FLOAT32, IDS);
        adapt(model);
        ids = manager.randomInteger(0, 10, IDS, DataType.INT64);
        Models.forward(model, store, manager, ids);
        verify(model);
    }

    @Benchmark
    public long forward() {
        return Models.forward(model, store, manager, ids);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        verify(model);
        manager.close();
    }
}
