package io.peft4j.bench;

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

/** One training step of the 4-layer MLP with DJL's Trainer and Adam ({@link TrainingRig}). */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public abstract class TrainStep {

    /** Width of every Linear layer. */
    @Param({"1024"})
    public int width;

    private TrainingRig rig;

    /** The JVM kind this benchmark must run in. */
    protected abstract Jvm jvm();

    /** Whether LoRA is injected (otherwise every weight trains). */
    protected abstract boolean lora();

    @Setup(Level.Trial)
    public void setUp() {
        jvm().require();
        rig = new TrainingRig(width, lora());
        rig.step();
        long expected = lora() ? 4L * Setups.RANK * 2 * width : 4L * width * (width + 1);
        MlpForward.check(rig.trainableParameters() == expected,
                "trainable parameters " + rig.trainableParameters() + ", expected " + expected);
    }

    @Benchmark
    public void step() {
        rig.step();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        rig.close();
    }
}
