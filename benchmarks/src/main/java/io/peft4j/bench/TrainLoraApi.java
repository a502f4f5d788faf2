package io.peft4j.bench;

import org.openjdk.jmh.annotations.Fork;

/** LoRA r=8 on the four Linear layers (Java API); base weights frozen. */
@Fork(value = 1, jvm = Setups.API_JVM, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET})
public class TrainLoraApi extends TrainStep {

    @Override
    protected Jvm jvm() {
        return Jvm.API;
    }

    @Override
    protected boolean lora() {
        return true;
    }
}
