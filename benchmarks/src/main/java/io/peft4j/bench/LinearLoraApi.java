package io.peft4j.bench;

import ai.djl.nn.Block;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Param;

import java.util.List;

/** The Linear layer with an unmerged LoRA adapter of rank {@code rank} (Java API, alpha 16). */
@Fork(value = 1, jvm = Setups.API_JVM, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET})
public class LinearLoraApi extends LinearForward {

    /** LoRA rank r. */
    @Param({"1", "8", "64"})
    public int rank;

    @Override
    protected Jvm jvm() {
        return Jvm.API;
    }

    @Override
    protected void adapt(Block model) {
        PeftCalls.injectLora(model, rank, Setups.ALPHA, List.of("0"));
    }

    @Override
    protected void verify(Block model) {
        MlpForward.check(PeftCalls.tunedModules(model) == 1, "LoRA on the Linear");
        MlpForward.check(PeftCalls.interceptedForwards() > 0, "the advice ran");
        PeftCalls.requireNoAdviceErrors();
    }
}
