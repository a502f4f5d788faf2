package io.peft4j.bench;

import org.openjdk.jmh.annotations.Fork;

/** The base Linear layer, no peft4j in the JVM. */
@Fork(value = 1, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET})
public class LinearPlain extends LinearForward {

    @Override
    protected Jvm jvm() {
        return Jvm.PLAIN;
    }
}
