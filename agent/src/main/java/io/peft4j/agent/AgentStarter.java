package io.peft4j.agent;

import ai.djl.nn.Block;
import io.peft4j.agent.config.AgentOptions;
import io.peft4j.agent.config.OptionKey;
import io.peft4j.agent.jmx.AdaptersBean;
import io.peft4j.agent.jmx.JmxRegistration;
import io.peft4j.agent.mkl.MklCodePaths;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.instrument.AdviceErrors;
import io.peft4j.instrument.NonFiniteGuard;
import io.peft4j.instrument.ModelHooks;
import io.peft4j.instrument.PeftInstrumentation;
import io.peft4j.instrument.RequestHooks;
import io.peft4j.log.PeftLog;
import io.peft4j.model.NameMap;
import io.peft4j.state.AdapterDirectory;
import io.peft4j.traced.TracedLoading;
import io.peft4j.traced.TracedModel;
import io.peft4j.traced.TracedModels;
import io.peft4j.tuner.AdapterRegistry;
import io.peft4j.tuner.ModelAdapters;

import java.lang.instrument.Instrumentation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts the agent, once per JVM, from {@code premain} or {@code agentmain}: resolves the options, reads and validates
 * every adapter config (so that a broken config fails at launch, not at the first request), installs the
 * instrumentation, registers the {@link AutoInjector} and, with {@code jmx=true}, arranges the lazy registration of
 * the MXBean.
 *
 * <p>A configuration error at launch stops the JVM with status 78 and a message naming the option, file or field
 * ({@code onError=fail}, the default) or leaves the application running without adapters ({@code onError=warn}). When
 * attached to a running JVM, the agent never stops it: the error is printed there and reported to the attaching
 * command through the system property {@value #STATUS_PROPERTY}.
 */
final class AgentStarter {

    /** Set once the agent runs in this JVM; a second {@code -javaagent} or attach is refused. */
    static final String STARTED_PROPERTY = "peft4j.internal.started";
    /** The outcome of the last start: {@code ready}, {@code disabled}, {@code failed: ...} or {@code refused: ...}. */
    static final String STATUS_PROPERTY = "peft4j.internal.status";
    /** The exit status of a configuration error at launch (sysexits EX_CONFIG). */
    static final int EX_CONFIG = 78;
    /** The jar the agent runs from, for the command line's attach channel (it loads that jar, not a second copy). */
    static final String JAR_PROPERTY = "peft4j.internal.jar";

    /** The running agent's operations (the MXBean implementation), once started; the attach channel uses them. */
    private static volatile AdaptersBean operations;

    private AgentStarter() {}

    /**
     * The running agent's MXBean implementation, whether or not it is registered in JMX ({@code jmx=false}), or
     * {@code null} when the agent did not start in this JVM.
     */
    static AdaptersBean operations() {
        return operations;
    }

    /** Why {@link #operations()} is {@code null}: the outcome of the last start. */
    static String notRunningReason() {
        String status = System.getProperty(STATUS_PROPERTY);
        return status == null ? "the agent was not started here" : "agent " + status;
    }

    static synchronized void start(String args, Instrumentation inst, boolean premain) {
        // Not a line of SLF4J while the JVM starts: it would configure the application's logging before its main.
        PeftLog.holdSlf4j(true);
        try {
            doStart(args, inst, premain);
        } finally {
            PeftLog.holdSlf4j(false);
        }
    }

    private static void doStart(String args, Instrumentation inst, boolean premain) {
        long begin = System.nanoTime();
        String how = premain ? "-javaagent" : "attach";
        AgentOptions options;
        try {
            options = AgentOptions.resolve(args, System.getProperties(), System.getenv());
        } catch (IllegalArgumentException e) {
            configError("invalid peft4j options: " + e.getMessage(),
                    AgentOptions.failOnErrorLeniently(args, System.getProperties(), System.getenv()), premain);
            return;
        }
        if (options.debug()) {
            System.setProperty("peft4j.debug", "true");
        }
        if (!options.enabled()) {
            System.err.println("[peft4j] INFO agent disabled (enabled=false, " + options.source("enabled") + ")");
            System.setProperty(STATUS_PROPERTY, "disabled");
            return;
        }
        if (System.getProperty(STARTED_PROPERTY) != null) {
            System.err.println("[peft4j] WARN peft4j is already running in this JVM; ignoring this " + how
                    + " (change adapters through JMX: java -jar peft4j-agent.jar jmx <pid> ...)");
            System.setProperty(STATUS_PROPERTY, "refused: peft4j is already running in this JVM");
            return;
        }
        // before anything can load libtorch: oneMKL asks which CPU it runs on when libtorch is loaded
        boolean mklPrepared = options.mklByFeatures() && prepareMkl() == MklCodePaths.Outcome.LOADED;
        AdviceErrors.setPolicy(options.failOnError() ? AdviceErrors.Policy.FAIL : AdviceErrors.Policy.WARN);
        NonFiniteGuard.setPolicy(options.revertNonFiniteSteps() ? NonFiniteGuard.Policy.REVERT
                : NonFiniteGuard.Policy.FAIL);
        // At launch the weaver is registered first (a few milliseconds: no DJL class is loaded; DJL's classes are woven
        // as the application loads them), then the configs are read. When attached, a bad config must leave the
        // running application untouched: configs first, then the instrumentation (DJL's classes already loaded are
        // retransformed).
        long instrumentationMs = 0;
        if (premain) {
            long t = System.nanoTime();
            PeftInstrumentation.register(inst);
            instrumentationMs = (System.nanoTime() - t) / 1_000_000;
        }
        long configsStart = System.nanoTime();
        List<StartupAdapter> adapters = readConfigs(options, premain);
        long configsMs = (System.nanoTime() - configsStart) / 1_000_000;
        if (adapters == null) {
            return;
        }
        if (!premain) {
            long t = System.nanoTime();
            PeftInstrumentation.install(inst);
            instrumentationMs = (System.nanoTime() - t) / 1_000_000;
        }
        KnownModels models = new KnownModels();
        InjectionGate gate = new InjectionGate();
        AdapterControl control = new AdapterControl(gate, models, options.adapterRoot(), options.dumpDir());
        AdaptersBean bean = new AdaptersBean(control, () -> describe(models));
        // At launch, the MXBean is registered on a thread of its own after the application's first forward pass (or
        // 2 s after its first use of a model without one), so that creating the platform MBean server never delays
        // the model's first result (JmxRegistration). When attached: at once.
        Runnable registerJmx = !options.jmx() ? null
                : premain ? () -> JmxRegistration.registerAfterFirstPass(bean) : () -> JmxRegistration.register(bean);
        Runnable firstModel = atFirstModel(mklPrepared, premain ? registerJmx : null,
                premain && !options.mklByFeatures());
        AutoInjector injector = new AutoInjector(adapters, gate, options.active(), options.merge(), options.saveDir(),
                options.failOnError(), models, firstModel);
        ModelHooks.setListener(injector);
        TracedLoading.setTrainableParameters(!adapters.isEmpty() || options.adapterRoot() != null);
        RequestHooks.configure(options.requestAdapterProperty(), options.unknownAdapterToBase());
        operations = bean;
        publishJar();
        System.setProperty(STARTED_PROPERTY, how);
        if (!premain && registerJmx != null) {
            registerJmx.run();
        }
        System.setProperty(STATUS_PROPERTY, "ready");
        PeftLog.get(PeftAgent.class).info("agent ready in {} ms (configs {} ms, instrumentation {} ms; {})",
                (System.nanoTime() - begin) / 1_000_000, configsMs, instrumentationMs, options.describe());
    }

    /**
     * Reads and validates every adapter config given at launch; returns null after reporting (and, at launch with
     * {@code onError=fail}, stopping the JVM) when one is invalid, so that one launch reports every broken config.
     */
    private static List<StartupAdapter> readConfigs(AgentOptions options, boolean premain) {
        PeftLog log = PeftLog.get(PeftAgent.class);
        List<StartupAdapter> adapters = new ArrayList<>();
        try {
            if (options.nameMap() != null) {
                NameMap map = NameMap.of(options.nameMap());
                NameMap.useByDefault(map);
                log.info("module names follow {} (nameMap={})", map.source(), options.nameMap());
            }
            if (options.adapters().isEmpty()) {
                log.warn("no adapter given (adapter=DIR): models are only instrumented{}",
                        options.adapterRoot() != null ? "; JMX load can add adapters from " + options.adapterRoot()
                                : "");
            }
            List<String> errors = new ArrayList<>();
            for (Map.Entry<String, Path> e : options.adapters().entrySet()) {
                if (e.getValue().toString().contains(OptionKey.MODEL_DIR)) {
                    adapters.add(new StartupAdapter(e.getKey(), e.getValue(), null));
                    log.info("adapter '{}' from {}: read when a traced model is loaded, {} being its directory",
                            e.getKey(), e.getValue(), OptionKey.MODEL_DIR);
                    continue;
                }
                AdapterConfig config;
                try {
                    config = readConfig(e.getValue());
                } catch (RuntimeException failure) {
                    // every adapter is checked, so that one launch reports every broken config
                    errors.add(failure.getMessage());
                    continue;
                }
                adapters.add(new StartupAdapter(e.getKey(), e.getValue(), config));
                log.info("adapter '{}' ({}) from {}{}: injected into each model when it is first used (merged into"
                        + " traced models when they are loaded)", e.getKey(),
                        config.peftType().jsonName(), e.getValue(), AdapterDirectory.hasWeights(e.getValue()) ? ""
                                : " (no adapter_model.safetensors: fresh weights)");
            }
            if (!errors.isEmpty()) {
                configError(errors.size() == 1 ? errors.get(0) : errors.size() + " adapter configs are invalid:\n  "
                        + String.join("\n  ", errors) + "\n", options.failOnError(), premain);
                return null;
            }
            return adapters;
        } catch (RuntimeException e) {
            configError(e.getMessage(), options.failOnError(), premain);
            return null;
        }
    }

    /**
     * What runs once, when the application first uses a model (libtorch is loaded by then): the CPU type oneMKL chose
     * after {@code mklCodePaths=features} ({@code mklReport}), the hint about that option on a CPU that is not Intel's
     * ({@code mklHint}), then {@code registerJmx}; {@code null} when there is nothing to run.
     */
    private static Runnable atFirstModel(boolean mklReport, Runnable registerJmx, boolean mklHint) {
        if (!mklReport && !mklHint) {
            return registerJmx;
        }
        return () -> {
            if (mklReport) {
                MklCodePaths.report();
            } else {
                String hint = MklCodePaths.hint();
                if (hint != null) {
                    PeftLog.get(MklCodePaths.class).info("{}", hint);
                }
            }
            if (registerJmx != null) {
                registerJmx.run();
            }
        };
    }

    /** {@code mklCodePaths=features}: never fails the start (the option only changes speed). */
    private static MklCodePaths.Outcome prepareMkl() {
        try {
            return MklCodePaths.prepare();
        } catch (LinkageError e) {
            PeftLog.get(PeftAgent.class).warn("mklCodePaths=features not applied: {}", e.toString());
            return MklCodePaths.Outcome.NOT_APPLIED;
        }
    }

    /** Publishes the agent jar's absolute path in {@value #JAR_PROPERTY} (nothing when it cannot be found). */
    private static void publishJar() {
        try {
            Path jar = Path.of(PeftAgent.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(jar)) {
                System.setProperty(JAR_PROPERTY, jar.toAbsolutePath().toString());
            }
        } catch (Exception e) {
            // the command line then loads its own jar: same classes, resolved from the jar already loaded
        }
    }

    private static AdapterConfig readConfig(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("adapter directory " + dir.toAbsolutePath() + " does not exist");
        }
        if (!Files.isReadable(dir.resolve(AdapterDirectory.CONFIG_FILE))) {
            throw new IllegalArgumentException("adapter directory " + dir.toAbsolutePath() + " has no readable "
                    + AdapterDirectory.CONFIG_FILE);
        }
        return AdapterConfigs.readForInjection(dir);
    }

    /** One line per model in use, for the MXBean's {@code Models} attribute. */
    private static String[] describe(KnownModels models) {
        List<Block> roots = new ArrayList<>(models.roots());
        for (ModelAdapters m : AdapterRegistry.models()) {
            if (!roots.contains(m.root())) {
                roots.add(m.root());
            }
        }
        roots.sort(models.order());
        List<String> lines = new ArrayList<>();
        for (Block root : roots) {
            ModelAdapters m = AdapterRegistry.model(root);
            TracedModel t = TracedModels.of(root);
            String state = m == null ? "no adapters"
                    : "adapters " + m.adapterNames() + ", active " + m.activeAdapters() + ", "
                            + (m.adaptersEnabled() ? "enabled" : "disabled");
            if (t != null) {
                state = "traced, adapters " + t.adapterNames() + ", active " + t.activeAdapters() + ", "
                        + (t.isMerged() ? "merged" : t.adaptersEnabled() ? "unmerged (base weights)" : "disabled");
            }
            lines.add(models.idOf(root) + " (" + root.getClass().getName() + "): " + state);
        }
        return lines.toArray(new String[0]);
    }

    private static void configError(String message, boolean stop, boolean premain) {
        if (!premain) {
            System.err.println("[peft4j] ERROR " + message + " -- attach refused; the application keeps running"
                    + " without peft4j");
            System.setProperty(STATUS_PROPERTY, "failed: " + message);
            return;
        }
        if (stop) {
            System.err.println("[peft4j] ERROR " + message + " -- stopping (onError=fail). Set onError=warn to run"
                    + " without adapters.");
            System.err.flush();
            System.exit(EX_CONFIG);
        } else {
            System.err.println("[peft4j] WARN " + message + " -- continuing WITHOUT adapters (onError=warn)");
            System.setProperty(STATUS_PROPERTY, "failed: " + message);
        }
    }
}
