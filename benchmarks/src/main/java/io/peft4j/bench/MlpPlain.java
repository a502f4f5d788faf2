package io.peft4j.bench;

import org.openjdk.jmh.annotations.Fork;

/** The MLP in a JVM without peft4j: the baseline of rows 1 and 4. */
@Fork(value = 1, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET})
public class MlpPlain extends MlpForward {

    @Override
    protected Jvm jvm() {
        return Jvm.PLAIN;
    }
}
