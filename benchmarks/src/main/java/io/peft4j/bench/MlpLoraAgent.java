package io.peft4j.bench;

import ai.djl.nn.Block;
import org.openjdk.jmh.annotations.Fork;

/** The MLP with LoRA r=8 on every Linear, injected by {@code -javaagent} at its first forward pass, unmerged. */
@Fork(value = 1, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET, Setups.AGENT_LORA})
public class MlpLoraAgent extends MlpForward {

    @Override
    protected Jvm jvm() {
        return Jvm.AGENT;
    }

    @Override
    protected void verify(Block model, Block decoy) {
        check(PeftCalls.tunedModules(model) == 4, "the agent put LoRA on the 4 Linear layers");
        check(PeftCalls.mergedModules(model) == 0, "unmerged");
        check(PeftCalls.interceptedForwards() > 0, "the advice ran");
        PeftCalls.requireNoAdviceErrors();
    }
}
