package io.peft4j.bench;

import ai.djl.nn.Block;
import org.openjdk.jmh.annotations.Fork;

/** The MLP under {@code -javaagent}, the adapter targeting nothing in it (another model in the JVM is adapted). */
@Fork(value = 1, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET, Setups.AGENT_UNTARGETED})
public class MlpAgentUntargeted extends MlpForward {

    @Override
    protected Jvm jvm() {
        return Jvm.AGENT;
    }

    @Override
    protected void verify(Block model, Block decoy) {
        check(PeftCalls.tunedModules(model) == 0, "the MLP carries no adapter");
        check(PeftCalls.tunedModules(decoy) == 1, "the agent adapted the decoy model");
        PeftCalls.requireNoAdviceErrors();
    }
}
