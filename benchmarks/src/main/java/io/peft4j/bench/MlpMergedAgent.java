package io.peft4j.bench;

import ai.djl.nn.Block;
import org.openjdk.jmh.annotations.Fork;

/** The MLP with LoRA r=8 injected by {@code -javaagent ...,merge=true}: merged into the base weights. */
@Fork(value = 1, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET, Setups.AGENT_LORA_MERGED})
public class MlpMergedAgent extends MlpForward {

    @Override
    protected Jvm jvm() {
        return Jvm.AGENT;
    }

    @Override
    protected void verify(Block model, Block decoy) {
        check(PeftCalls.mergedModules(model) == 4, "the agent merged LoRA into the 4 Linear layers");
        PeftCalls.requireNoAdviceErrors();
    }
}
