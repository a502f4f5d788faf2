package io.peft4j.agent;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.peft4j.Peft;
import io.peft4j.agent.config.OptionKey;
import io.peft4j.config.PeftConfigException;
import io.peft4j.instrument.InjectionFailure;
import io.peft4j.instrument.ModelLifecycleListener;
import io.peft4j.log.PeftLog;
import io.peft4j.match.TargetsNotFoundException;
import io.peft4j.traced.TracedModel;
import io.peft4j.traced.TracedModels;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.WeakIdentityMap;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Injects the configured adapters into each model the application starts using, without a line of application code.
 * A model is adapted once, as soon as its parameters are initialised: when a Trainer or Predictor is created, when a
 * Trainer finished {@code initialize}, or at its first forward pass (which is how models already in use are found
 * after a runtime attach). Then the requested adapters are activated and, with {@code merge=true}, merged. When a
 * Trainer closes and {@code save} is set, the trained adapters are written there in PEFT's layout ({@code default}
 * in the directory itself, others in a sub-directory named after them).
 *
 * <p>Every model gets the configs read once at start-up ({@link StartupAdapter}); only the weights are read per
 * model. Every root it sees is recorded in {@link KnownModels} (also without configured adapters), so that JMX
 * {@code load} can reach it. A traced model (TorchScript) is adapted when the application loads it: the adapters
 * are merged into its weights ({@link TracedInjection}). Other threads that use a model while it is being adapted
 * wait until the injection is complete, so that no forward pass runs on a half-adapted model. When injection fails
 * with {@code onError=fail}, every later use of that model fails again: the application never serves it unadapted.
 */
final class AutoInjector implements ModelLifecycleListener {

    private static final PeftLog LOG = PeftLog.get(AutoInjector.class);
    private static final String BLOCK_CLASS = "ai.djl.nn.AbstractBaseBlock";

    private final List<StartupAdapter> adapters;
    private final InjectionGate gate;
    private final List<String> active;
    private final boolean merge;
    private final Path saveDir;
    private final boolean failOnError;
    private final KnownModels models;
    private final Runnable firstModel;
    private final TracedInjection traced;
    private final AtomicBoolean firstModelSeen = new AtomicBoolean();
    private final WeakIdentityMap<Block, String> handled = new WeakIdentityMap<>();
    private final WeakIdentityMap<Block, InjectionFailure> failed = new WeakIdentityMap<>();
    private final WeakIdentityMap<Block, Path> modelDirs = new WeakIdentityMap<>();
    private Thread injecting;

    /**
     * Creates the injector.
     *
     * @param adapters the adapters to inject, in order (may be empty: then models are only recorded)
     * @param gate the monitor injections hold and the switch that stops them, shared with the JMX operations
     * @param active the adapters to activate, or {@code null} for the last injected
     * @param merge whether to merge the active adapters after injection
     * @param saveDir where to save adapters when training ends, or {@code null}
     * @param failOnError whether an injection error fails the application's call
     * @param models where every root in use is recorded
     * @param firstModel run once, after the first model was handled (lazy JMX registration), or {@code null}
     */
    AutoInjector(List<StartupAdapter> adapters, InjectionGate gate, List<String> active, boolean merge, Path saveDir,
            boolean failOnError, KnownModels models, Runnable firstModel) {
        this.adapters = List.copyOf(adapters);
        this.gate = gate;
        this.active = active;
        this.merge = merge;
        this.saveDir = saveDir;
        this.failOnError = failOnError;
        this.models = models;
        this.firstModel = firstModel;
        this.traced = new TracedInjection(directories(this.adapters), active, failOnError, models);
    }

    private static Map<String, Path> directories(List<StartupAdapter> adapters) {
        Map<String, Path> dirs = new LinkedHashMap<>();
        for (StartupAdapter adapter : adapters) {
            dirs.put(adapter.name(), adapter.dir());
        }
        return dirs;
    }

    @Override
    public void rootInUse(Block root, String trigger) {
        if (handled.get(root) != null) {
            return;
        }
        InjectionFailure failure = failed.get(root);
        if (failure != null) {
            throw InjectionFailure.again(failure);
        }
        if ("forward".equals(trigger) && insideAnotherForward()) {
            return;
        }
        boolean handledNow = false;
        synchronized (gate) {
            if (handled.get(root) != null || failed.get(root) != null || injecting == Thread.currentThread()
                    || !initialised(root)) {
                return;
            }
            models.register(root);
            if (Boolean.getBoolean("peft4j.debug")) {
                LOG.debug("model {} ({}): module tree (the paths target_modules is matched against)\n{}",
                        models.idOf(root), root.getClass().getName(), Peft.moduleTree(root).describe().stripTrailing());
            }
            injecting = Thread.currentThread();
            try {
                if (!gate.isClosed()) {
                    inject(root, trigger);
                }
                handled.put(root, trigger);
                handledNow = true;
            } catch (InjectionFailure e) {
                failed.put(root, e);
                throw e;
            } finally {
                injecting = null;
            }
        }
        if (handledNow && firstModel != null && firstModelSeen.compareAndSet(false, true)) {
            firstModel.run();
        }
    }

    /**
     * Whether an (uninstrumented) forward of another block is still running below this one on the thread's stack.
     * That happens only for the forward passes in flight while the agent is attached at run time: their outer frames
     * run the old bytecode and never counted the nesting depth, so a child block looks like a root.
     */
    private static boolean insideAnotherForward() {
        long frames = StackWalker.getInstance().walk(s -> s.filter(f -> "forward".equals(f.getMethodName())
                && BLOCK_CLASS.equals(f.getClassName())).limit(2).count());
        return frames > 1;
    }

    /** A traced model is adapted as it is loaded (a block model later, when its parameters exist). */
    @Override
    public void modelLoaded(Model model) {
        if (TracedModels.isTraced(model.getBlock())) {
            if (model.getModelPath() != null) {
                modelDirs.put(model.getBlock(), model.getModelPath());
            }
            rootInUse(model.getBlock(), "load");
        }
    }

    private void inject(Block root, String trigger) {
        if (TracedModels.isTraced(root)) {
            traced.adapt(root, trigger, modelDirs.get(root));
            return;
        }
        if (adapters.isEmpty()) {
            return;
        }
        StartupAdapter current = null;
        try {
            ModelAdapters model = null;
            for (StartupAdapter adapter : adapters) {
                current = adapter;
                if (adapter.config() == null) {
                    throw new IllegalArgumentException("the path uses " + OptionKey.MODEL_DIR + ", which only traced"
                            + " (TorchScript) models loaded from a file have");
                }
                LOG.info("model {} ({}) in use ({}): injecting adapter '{}' from {}", models.idOf(root),
                        root.getClass().getName(), trigger, adapter.name(), adapter.dir());
                model = Peft.loadAdapter(root, adapter.config(), adapter.dir(), adapter.name());
            }
            current = null;
            if (model != null && active != null) {
                model.setActiveAdapters(active);
            }
            if (model != null) {
                LOG.info("model {}: active adapters {}", models.idOf(root), model.activeAdapters());
                if (merge) {
                    model.merge(model.activeAdapters(), true);
                    LOG.info("model {}: merged adapters {} into the base weights", models.idOf(root),
                            model.activeAdapters());
                }
            }
        } catch (PeftConfigException | IllegalArgumentException | IllegalStateException
                | UnsupportedOperationException | UncheckedIOException e) {
            Peft.adapters(root).ifPresent(m -> m.adapterNames().forEach(m::deleteAdapter));
            if ("forward".equals(trigger) && e instanceof TargetsNotFoundException) {
                // A block run on its own (not a model the configs were written for): not an error.
                LOG.warn("a forward pass ran on {} but none of its modules is targeted: {}; left unadapted",
                        root.getClass().getName(), e.getMessage());
                return;
            }
            String message = "cannot inject " + (current == null ? "adapters" : "adapter '" + current.name()
                    + "' from " + current.dir()) + " into " + root.getClass().getName() + ": " + e.getMessage();
            if (failOnError) {
                LOG.error("{} (onError=fail: stopping; set onError=warn to run without the adapter)", message);
                throw InjectionFailure.reported(message, (current == null ? "adapters were" : "adapter '"
                        + current.name() + "' was") + " not injected into model " + models.idOf(root), e);
            }
            LOG.warn("{} (onError=warn: the model runs WITHOUT adapters)", message);
        }
    }

    private static boolean initialised(Block root) {
        for (Pair<String, Parameter> p : root.getParameters()) {
            if (!p.getValue().isInitialized()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void trainingEnded(Model model) {
        if (saveDir == null || model.getBlock() == null) {
            return;
        }
        TracedModel tracedModel = TracedModels.of(model.getBlock());
        if (tracedModel != null) {
            for (String name : tracedModel.adapterNames()) {
                tracedModel.save(name, Peft.DEFAULT_ADAPTER.equals(name) ? saveDir : saveDir.resolve(name));
            }
            return;
        }
        ModelAdapters found = Peft.adapters(model.getBlock()).orElse(null);
        if (found == null) {
            return;
        }
        for (String name : found.adapterNames()) {
            Path target = Peft.DEFAULT_ADAPTER.equals(name) ? saveDir : saveDir.resolve(name);
            Peft.saveAdapter(model.getBlock(), target, name);
        }
    }
}
