package io.peft4j.instrument;

import io.peft4j.log.PeftLog;
import net.bytebuddy.agent.ByteBuddyAgent;

import java.lang.instrument.Instrumentation;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Installs peft4j's hooks into DJL, once per JVM: with the agent's {@link Instrumentation} when peft4j was launched as
 * {@code -javaagent} (or attached), otherwise by attaching Byte Buddy's agent to this JVM on first use of the Java
 * API. The {@link DjlWeaver} (plain ASM) changes no class shape, so classes already loaded are retransformed.
 *
 * <p>Instrumented (the list and the hooks called are in {@link DjlWeaver}): {@code forwardInternal} of {@code Linear},
 * {@code Embedding}, {@code IdEmbedding} and {@code Convolution}; both {@code forward} overloads and
 * {@code getParameters} of {@code AbstractBaseBlock}; {@code ParameterStore.getValue}; {@code Trainer}'s constructors,
 * {@code initialize}, {@code step} and {@code close}; {@code Predictor}'s constructor; {@code backward} of
 * {@code GradientCollector} implementations; PyTorch's {@code PtModel.load}.
 */
public final class PeftInstrumentation {

    private static final PeftLog LOG = PeftLog.get(PeftInstrumentation.class);
    private static final AtomicLong TRANSFORM_ERRORS = new AtomicLong();

    private static Instrumentation instrumentation;
    private static DjlWeaver weaver;

    private PeftInstrumentation() {}

    /**
     * The DJL classes peft4j instruments (and PyTorch's {@code GradientCollector}). Each is woven when the application
     * loads it, or retransformed by {@link #install} when it was loaded before; none is loaded by peft4j (an inference
     * application never loads {@code Trainer}; loading and weaving it up front cost the Java API's first call ~25 ms).
     */
    static final String[] DJL_CLASSES = {"ai.djl.nn.core.Linear", "ai.djl.nn.core.Embedding",
        "ai.djl.nn.transformer.IdEmbedding", "ai.djl.nn.convolutional.Convolution", "ai.djl.nn.AbstractBaseBlock",
        "ai.djl.training.ParameterStore", "ai.djl.training.Trainer", "ai.djl.inference.Predictor",
        "ai.djl.pytorch.engine.PtGradientCollector", "ai.djl.pytorch.engine.PtModel"};

    private static final java.util.Set<String> TRANSFORMED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * Installs with {@code inst} (the agent attached to a running JVM, or the Java API's self-attach): registers the
     * weaver, so that DJL classes loaded from now on are woven, and retransforms those loaded before; a no-op when
     * already installed.
     */
    public static void install(Instrumentation inst) {
        if (register(inst)) {
            weaveDjl();
        }
    }

    /**
     * Registers the weaver with {@code inst}, so that every DJL class loaded from now on is woven: what {@code premain}
     * does (a few milliseconds: no DJL class is loaded, none is loaded yet). Returns false when already installed.
     */
    public static synchronized boolean register(Instrumentation inst) {
        if (weaver != null) {
            return false;
        }
        instrumentation = inst;
        weaver = new DjlWeaver();
        inst.addTransformer(weaver, true);
        return true;
    }

    /** Retransforms the instrumented DJL classes loaded before the weaver was registered. */
    private static void weaveDjl() {
        Instrumentation inst;
        DjlWeaver w;
        synchronized (PeftInstrumentation.class) {
            inst = instrumentation;
            w = weaver;
        }
        long start = System.nanoTime();
        List<Class<?>> loaded = new ArrayList<>();
        for (Class<?> type : inst.getAllLoadedClasses()) {
            if (type.getName().startsWith("ai.djl.") && !TRANSFORMED.contains(type.getName()) && w.wants(type)
                    && inst.isModifiableClass(type)) {
                loaded.add(type);
            }
        }
        for (Class<?> type : loaded) {
            try {
                inst.retransformClasses(type);
            } catch (Throwable t) {
                transformError(type.getName(), t);
            }
        }
        LOG.debug("instrumentation installed in {} ms ({} classes retransformed)",
                (System.nanoTime() - start) / 1_000_000, loaded.size());
    }

    /** The DJL classes transformed so far (for self-checks and tests). */
    public static java.util.Set<String> transformedTypes() {
        return java.util.Collections.unmodifiableSet(TRANSFORMED);
    }

    /** Makes sure the hooks are woven in, attaching to this JVM if no agent was given at launch. */
    public static synchronized void ensureInstalled() {
        if (weaver != null) {
            return;
        }
        LOG.info("no -javaagent given: attaching peft4j's instrumentation to this JVM");
        Instrumentation inst;
        try {
            // Byte Buddy's attach protocol over JNA (in this process; JNA comes with DJL): without
            // -Djdk.attach.allowAttachSelf=true its usual way attaches from a helper JVM, ~200 ms more per start;
            // SelfAttach polls for the attach listener every 2 ms where Byte Buddy first sleeps 100 ms
            inst = ByteBuddyAgent.install(SelfAttach.provider());
        } catch (RuntimeException e) {
            LOG.debug("attaching in-process did not work ({}); attaching Byte Buddy's usual way", e.toString());
            inst = ByteBuddyAgent.install();
        }
        install(inst);
    }

    /** Whether the hooks are installed. */
    public static synchronized boolean isInstalled() {
        return weaver != null;
    }

    /** The instrumentation in use, or {@code null}. */
    public static synchronized Instrumentation instrumentation() {
        return instrumentation;
    }

    /** Errors the weaver met while transforming DJL classes (each left as DJL wrote it). */
    public static long transformErrors() {
        return TRANSFORM_ERRORS.get();
    }

    /** The weaver instrumented {@code typeName}. */
    static void transformed(String typeName, boolean loaded) {
        TRANSFORMED.add(typeName);
        LOG.debug("instrumented {}{}", typeName, loaded ? " (retransformed)" : "");
    }

    /** The weaver failed on {@code typeName}: counted and logged, the class stays as DJL wrote it. */
    static void transformError(String typeName, Throwable throwable) {
        TRANSFORM_ERRORS.incrementAndGet();
        LOG.error("could not instrument {}: {}", typeName, throwable.toString(), throwable);
    }
}
