package io.peft4j.bench;

import ai.djl.nn.Block;
import org.openjdk.jmh.annotations.Fork;

import java.util.List;

/**
 * PEFT's test DummyModel with the golden case {@code a_lora_dummy}'s LoRA (r=64, alpha=16, dropout 0.1 on
 * {@code linear}), injected with the Java API, unmerged (W3).
 */
@Fork(value = 1, jvm = Setups.API_JVM, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET})
public class DummyLoraApi extends DummyForward {

    @Override
    protected Jvm jvm() {
        return Jvm.API;
    }

    @Override
    protected void adapt(Block model) {
        PeftCalls.injectLora(model, 64, 16, 0.1, List.of("linear"));
    }

    @Override
    protected void verify(Block model) {
        MlpForward.check(PeftCalls.tunedModules(model) == 1, "LoRA on linear");
        MlpForward.check(PeftCalls.interceptedForwards() > 0, "the advice ran");
        PeftCalls.requireNoAdviceErrors();
    }
}
