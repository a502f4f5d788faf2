package io.peft4j.bench;

import org.openjdk.jmh.annotations.Fork;

/** PEFT's test DummyModel in a JVM without peft4j (W3 base). */
@Fork(value = 1, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET})
public class DummyPlain extends DummyForward {

    @Override
    protected Jvm jvm() {
        return Jvm.PLAIN;
    }
}
