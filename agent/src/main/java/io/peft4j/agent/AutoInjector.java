package io.peft4j.agent;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.peft4j.Peft;
import io.peft4j.config.PeftConfigException;
import io.peft4j.instrument.InjectionFailure;
import io.peft4j.instrument.ModelLifecycleListener;
import io.peft4j.log.PeftLog;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.WeakIdentityMap;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Injects the configured adapters into each model the application starts using, without a line of application code.
 * A model is adapted once, as soon as its parameters are initialised: when a Trainer or Predictor is created, when a
 * Trainer finished {@code initialize}, or at its first forward pass. Then the requested adapters are activated and,
 * with {@code merge=true}, merged. When a Trainer closes and {@code save} is set, the trained adapters are written
 * there in PEFT's layout ({@code default} in the directory itself, others in a sub-directory named after them).
 */
final class AutoInjector implements ModelLifecycleListener {

    private static final PeftLog LOG = PeftLog.get(AutoInjector.class);

    private final Map<String, Path> adapters;
    private final List<String> active;
    private final boolean merge;
    private final Path saveDir;
    private final boolean failOnError;
    private final WeakIdentityMap<Block, String> handled = new WeakIdentityMap<>();

    AutoInjector(AgentOptions options) {
        this.adapters = options.adapters();
        this.active = options.active();
        this.merge = options.merge();
        this.saveDir = options.saveDir();
        this.failOnError = options.failOnError();
    }

    @Override
    public void rootInUse(Block root, String trigger) {
        if (handled.get(root) != null) {
            return;
        }
        synchronized (this) {
            if (handled.get(root) != null || !initialised(root)) {
                return;
            }
            handled.put(root, trigger);
            String current = null;
            try {
                ModelAdapters model = null;
                for (Map.Entry<String, Path> e : adapters.entrySet()) {
                    current = e.getKey();
                    LOG.info("model {} in use ({}): injecting adapter '{}' from {}", root.getClass().getName(),
                            trigger, e.getKey(), e.getValue());
                    model = Peft.loadAdapter(root, e.getValue(), e.getKey());
                }
                current = null;
                if (model != null && active != null) {
                    model.setActiveAdapters(active);
                }
                if (model != null) {
                    LOG.info("active adapters: {}", model.activeAdapters());
                    if (merge) {
                        model.merge(model.activeAdapters(), true);
                        LOG.info("merged adapters {} into the base weights", model.activeAdapters());
                    }
                }
            } catch (PeftConfigException | IllegalArgumentException | IllegalStateException
                    | UnsupportedOperationException | java.io.UncheckedIOException e) {
                if ("forward".equals(trigger) && e instanceof PeftConfigException
                        && e.getMessage() != null && e.getMessage().startsWith("Target modules")) {
                    LOG.warn("a forward pass ran on {} but none of its modules is targeted: {}; left unadapted",
                            root.getClass().getName(), e.getMessage());
                    return;
                }
                String message = "cannot inject " + (current == null ? "adapters" : "adapter '" + current + "' from "
                        + adapters.get(current)) + " into " + root.getClass().getName() + ": " + e.getMessage();
                if (failOnError) {
                    LOG.error("{} (onError=fail: stopping; set onError=warn to run without the adapter)", message);
                    throw new InjectionFailure(message, e);
                }
                Peft.adapters(root).ifPresent(m -> m.adapterNames().forEach(m::deleteAdapter));
                LOG.warn("{} (onError=warn: the model runs WITHOUT adapters)", message);
            }
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
