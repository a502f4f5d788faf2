package io.peft4j.bench;

import ai.djl.nn.Block;
import org.openjdk.jmh.annotations.Fork;

/** The MLP with LoRA r=8 on every Linear, injected with {@code Peft.injectAdapter} (no agent), unmerged. */
@Fork(value = 1, jvm = Setups.API_JVM, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET})
public class MlpLoraApi extends MlpForward {

    @Override
    protected Jvm jvm() {
        return Jvm.API;
    }

    @Override
    protected void adapt(Block model) {
        PeftCalls.injectLora(model, Setups.RANK, Setups.ALPHA, Models.MLP_LINEARS);
    }

    @Override
    protected void verify(Block model, Block decoy) {
        check(PeftCalls.tunedModules(model) == 4, "LoRA on the 4 Linear layers");
        check(PeftCalls.mergedModules(model) == 0, "unmerged");
        check(PeftCalls.interceptedForwards() > 0, "the advice ran");
        PeftCalls.requireNoAdviceErrors();
    }
}
