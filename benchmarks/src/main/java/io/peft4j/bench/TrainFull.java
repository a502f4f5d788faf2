package io.peft4j.bench;

import org.openjdk.jmh.annotations.Fork;

/** Full fine-tuning: every weight and bias trains; no peft4j in the JVM. */
@Fork(value = 1, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET})
public class TrainFull extends TrainStep {

    @Override
    protected Jvm jvm() {
        return Jvm.PLAIN;
    }

    @Override
    protected boolean lora() {
        return false;
    }
}
