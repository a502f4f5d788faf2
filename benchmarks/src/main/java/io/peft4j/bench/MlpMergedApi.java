package io.peft4j.bench;

import ai.djl.nn.Block;
import org.openjdk.jmh.annotations.Fork;

/** The MLP with LoRA r=8 injected with the Java API and merged into the base weights. */
@Fork(value = 1, jvm = Setups.API_JVM, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET})
public class MlpMergedApi extends MlpForward {

    @Override
    protected Jvm jvm() {
        return Jvm.API;
    }

    @Override
    protected void adapt(Block model) {
        PeftCalls.injectLora(model, Setups.RANK, Setups.ALPHA, Models.MLP_LINEARS);
        PeftCalls.merge(model);
    }

    @Override
    protected void verify(Block model, Block decoy) {
        check(PeftCalls.mergedModules(model) == 4, "LoRA merged into the 4 Linear layers");
        PeftCalls.requireNoAdviceErrors();
    }
}
