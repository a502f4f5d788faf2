package io.peft4j.bench;

import ai.djl.nn.Block;
import org.openjdk.jmh.annotations.Fork;

/** The MLP with LoRA r=8 on every Linear written by hand as DJL blocks ({@link HandLoraLinear}); no peft4j. */
@Fork(value = 1, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET})
public class MlpLoraHand extends MlpForward {

    @Override
    protected Jvm jvm() {
        return Jvm.PLAIN;
    }

    @Override
    protected Block build(int width) {
        return Models.mlp(width, i -> new HandLoraLinear(width, Setups.RANK, Setups.ALPHA));
    }
}
