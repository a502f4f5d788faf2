package io.peft4j.bench;

import ai.djl.nn.Block;
import io.peft4j.Peft;
import io.peft4j.instrument.AdviceErrors;
import io.peft4j.instrument.ForwardHooks;
import io.peft4j.instrument.PeftInstrumentation;
import io.peft4j.lora.LoraConfig;

import java.util.List;

/**
 * Every call into peft4j the benchmarks make, kept in one class that only API and agent forks load (a plain fork
 * has no peft4j on its class path).
 */
public final class PeftCalls {

    private PeftCalls() {}

    /** PEFT's {@code inject_adapter_in_model} with a LoRA config (adapter {@code default}). */
    public static void injectLora(Block model, int r, int alpha, List<String> targets) {
        injectLora(model, r, alpha, 0.0, targets);
    }

    /** The same with {@code lora_dropout} (applied while training only, as PEFT's). */
    public static void injectLora(Block model, int r, int alpha, double dropout, List<String> targets) {
        LoraConfig config = LoraConfig.builder().r(r).loraAlpha(alpha).loraDropout(dropout).targetModules(targets)
                .build();
        Peft.injectAdapter(config, model);
    }

    /**
     * Installs peft4j's instrumentation now (self-attach), as {@code Peft.injectAdapter} would on first use: called
     * before DJL's classes are loaded, they are woven as they load instead of retransformed later.
     */
    public static void installInstrumentation() {
        PeftInstrumentation.ensureInstalled();
    }

    /** Merges adapter {@code default} into the base weights. */
    public static void merge(Block model) {
        Peft.adapters(model).orElseThrow().merge(List.of(Peft.DEFAULT_ADAPTER), true);
    }

    /** How many modules of {@code model} carry adapters (0 when none was injected). */
    public static int tunedModules(Block model) {
        return Peft.adapters(model).isPresent() ? Peft.tunedModules(model).size() : 0;
    }

    /** Names of the adapters merged anywhere in {@code model}. */
    public static long mergedModules(Block model) {
        return Peft.adapters(model).isPresent()
                ? Peft.tunedModules(model).values().stream().filter(m -> !m.merged().isEmpty()).count() : 0;
    }

    /** Forward passes of tuned modules the advice intercepted so far. */
    public static long interceptedForwards() {
        return ForwardHooks.interceptedForwards();
    }

    /** Throws if the advice suppressed an error (an adapter silently not applied). */
    public static void requireNoAdviceErrors() {
        if (AdviceErrors.count() != 0) {
            throw new IllegalStateException("peft4j advice recorded " + AdviceErrors.count() + " error(s)");
        }
    }
}
