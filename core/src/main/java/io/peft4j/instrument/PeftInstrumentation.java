package io.peft4j.instrument;

import io.peft4j.log.PeftLog;
import net.bytebuddy.agent.ByteBuddyAgent;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.agent.builder.ResettableClassFileTransformer;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.utility.JavaModule;

import java.lang.instrument.Instrumentation;
import java.util.concurrent.atomic.AtomicLong;

import static net.bytebuddy.matcher.ElementMatchers.hasSuperType;
import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isInterface;
import static net.bytebuddy.matcher.ElementMatchers.isStatic;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.namedOneOf;
import static net.bytebuddy.matcher.ElementMatchers.not;
import static net.bytebuddy.matcher.ElementMatchers.takesArgument;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

/**
 * Installs peft4j's bytecode advice into DJL, once per JVM: with the agent's {@link Instrumentation} when peft4j was
 * launched as {@code -javaagent} (or attached), otherwise by attaching Byte Buddy's agent to this JVM on first use of
 * the Java API. Classes already loaded are retransformed; the advice changes no class shape
 * ({@code disableClassFormatChanges}), so retransformation is always allowed.
 *
 * <p>Instrumented: {@code forwardInternal} of {@code Linear}, {@code Embedding}, {@code IdEmbedding} and {@code Convolution}; both {@code forward} overloads and
 * {@code getParameters} of {@code AbstractBaseBlock}; {@code ParameterStore.getValue}; {@code Trainer}'s constructor,
 * {@code initialize}, {@code step} and {@code close}; {@code Predictor}'s constructor; {@code backward} of
 * {@code GradientCollector} implementations.
 */
public final class PeftInstrumentation {

    private static final PeftLog LOG = PeftLog.get(PeftInstrumentation.class);
    private static final AtomicLong TRANSFORM_ERRORS = new AtomicLong();

    /** The DJL classes whose {@code forwardInternal} adapters hook. */
    static final String[] MODULE_CLASSES = {"ai.djl.nn.core.Linear", "ai.djl.nn.core.Embedding",
        "ai.djl.nn.transformer.IdEmbedding", "ai.djl.nn.convolutional.Convolution"};

    private static Instrumentation instrumentation;
    private static ResettableClassFileTransformer transformer;

    private PeftInstrumentation() {}

    /**
     * The DJL classes peft4j instruments (besides {@code GradientCollector} implementations). They are loaded before
     * the transformer is installed, so that they are all retransformed up front: a class that the JVM loads while
     * Byte Buddy is busy transforming another one (as {@code ParameterStore} is while {@code Trainer} is) would
     * otherwise be skipped by Byte Buddy's circularity lock, silently.
     */
    static final String[] DJL_CLASSES = {"ai.djl.nn.core.Linear", "ai.djl.nn.core.Embedding",
        "ai.djl.nn.transformer.IdEmbedding", "ai.djl.nn.convolutional.Convolution", "ai.djl.nn.AbstractBaseBlock",
        "ai.djl.training.ParameterStore", "ai.djl.training.Trainer", "ai.djl.inference.Predictor"};

    private static final java.util.Set<String> TRANSFORMED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Installs with the agent's instrumentation (premain/agentmain); a no-op when already installed. */
    public static synchronized void install(Instrumentation inst) {
        if (transformer != null) {
            return;
        }
        instrumentation = inst;
        long start = System.nanoTime();
        preload();
        transformer = agentBuilder().installOn(inst);
        LOG.debug("instrumentation installed in {} ms", (System.nanoTime() - start) / 1_000_000);
    }

    private static void preload() {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) {
            loader = ClassLoader.getSystemClassLoader();
        }
        for (String name : DJL_CLASSES) {
            try {
                Class.forName(name, false, loader);
            } catch (ClassNotFoundException | LinkageError e) {
                LOG.debug("{} not visible at start-up ({}); it will be instrumented when loaded", name, e.toString());
            }
        }
        String engine = "ai.djl.pytorch.engine.PtGradientCollector";
        try {
            Class.forName(engine, false, loader);
        } catch (ClassNotFoundException | LinkageError e) {
            LOG.debug("{} not visible at start-up", engine);
        }
    }

    /** The DJL classes transformed so far (for self-checks and tests). */
    public static java.util.Set<String> transformedTypes() {
        return java.util.Collections.unmodifiableSet(TRANSFORMED);
    }

    /** Makes sure the advice is in place, attaching to this JVM if no agent was given at launch. */
    public static synchronized void ensureInstalled() {
        if (transformer != null) {
            return;
        }
        LOG.info("no -javaagent given: attaching peft4j's instrumentation to this JVM");
        install(ByteBuddyAgent.install());
    }

    /** Whether the advice is installed. */
    public static synchronized boolean isInstalled() {
        return transformer != null;
    }

    /** The instrumentation in use, or {@code null}. */
    public static synchronized Instrumentation instrumentation() {
        return instrumentation;
    }

    /** Errors Byte Buddy reported while transforming DJL classes. */
    public static long transformErrors() {
        return TRANSFORM_ERRORS.get();
    }

    static AgentBuilder agentBuilder() {
        return new AgentBuilder.Default()
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .with(new ErrorListener())
                .ignore(not(nameStartsWith("ai.djl.")))
                .type(namedOneOf(MODULE_CLASSES))
                .transform((builder, type, loader, module, domain) -> builder.visit(
                        Advice.to(ModuleForwardAdvice.class).on(named("forwardInternal")
                                .and(takesArguments(4)).and(takesArgument(2, boolean.class)))))
                .type(named("ai.djl.nn.AbstractBaseBlock"))
                .transform((builder, type, loader, module, domain) -> builder
                        .visit(Advice.to(BlockForwardAdvice.class).on(named("forward")
                                .and(takesArguments(4)).and(not(isStatic()))))
                        .visit(Advice.to(GetParametersAdvice.class).on(named("getParameters")
                                .and(takesArguments(0)))))
                .type(named("ai.djl.training.ParameterStore"))
                .transform((builder, type, loader, module, domain) -> builder.visit(
                        Advice.to(ParameterValueAdvice.class).on(named("getValue").and(takesArguments(3)))))
                .type(named("ai.djl.training.Trainer"))
                .transform((builder, type, loader, module, domain) -> builder
                        .visit(Advice.to(TrainerAdvice.Created.class).on(isConstructor()))
                        .visit(Advice.to(TrainerAdvice.Initialized.class).on(named("initialize")))
                        .visit(Advice.to(TrainerAdvice.Stepped.class).on(named("step")
                                .and(takesArguments(0))))
                        .visit(Advice.to(TrainerAdvice.Closing.class).on(named("close")
                                .and(takesArguments(0)))))
                .type(hasSuperType(named("ai.djl.training.GradientCollector")).and(not(isInterface())))
                .transform((builder, type, loader, module, domain) -> builder.visit(
                        Advice.to(BackwardAdvice.class).on(named("backward").and(takesArguments(1)))))
                .type(named("ai.djl.inference.Predictor"))
                .transform((builder, type, loader, module, domain) -> builder.visit(
                        Advice.to(PredictorAdvice.class).on(isConstructor().and(takesArguments(4)))));
    }

    /** Logs and counts transformation errors; they would otherwise leave a model silently unadapted. */
    private static final class ErrorListener extends AgentBuilder.Listener.Adapter {
        @Override
        public void onError(String typeName, ClassLoader classLoader, JavaModule module, boolean loaded,
                Throwable throwable) {
            TRANSFORM_ERRORS.incrementAndGet();
            LOG.error("could not instrument {}: {}", typeName, throwable.toString(), throwable);
        }

        @Override
        public void onTransformation(TypeDescription typeDescription, ClassLoader classLoader, JavaModule module,
                boolean loaded, DynamicType dynamicType) {
            TRANSFORMED.add(typeDescription.getName());
            LOG.debug("instrumented {}{}", typeDescription.getName(), loaded ? " (retransformed)" : "");
        }
    }
}
