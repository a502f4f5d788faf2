package io.peft4j.bench;

import org.openjdk.jmh.annotations.Fork;

/**
 * As {@link MlpMergedApi}, but peft4j's instrumentation is installed before any DJL block class is used, so DJL is
 * woven as it loads (as with the agent) instead of retransformed after its classes were loaded and run. Settles
 * whether the Java API's extra cost on a merged model comes from retransforming already-used classes.
 */
@Fork(value = 1, jvm = Setups.API_JVM, jvmArgsAppend = {Setups.OFFLINE, Setups.QUIET})
public class MlpMergedApiEarly extends MlpMergedApi {

    @Override
    protected void early() {
        PeftCalls.installInstrumentation();
    }
}
