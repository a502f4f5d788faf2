package io.peft4j.agent;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.peft4j.Peft;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.PeftConfigException;
import io.peft4j.instrument.InjectionFailure;
import io.peft4j.instrument.ModelLifecycleListener;
import io.peft4j.log.PeftLog;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.WeakIdentityMap;

import java.nio.file.Path;

/**
 * Injects the configured adapter into each model the application starts using, without a line of application code.
 * A model is adapted once, as soon as its parameters are initialised: when a Trainer or Predictor is created, when a
 * Trainer finished {@code initialize}, or at its first forward pass. When a Trainer closes and {@code save} is set,
 * the trained adapter is written there in PEFT's format.
 */
final class AutoInjector implements ModelLifecycleListener {

    private static final PeftLog LOG = PeftLog.get(AutoInjector.class);

    private final Path adapterDir;
    private final AdapterConfig config;
    private final String name;
    private final Path saveDir;
    private final boolean failOnError;
    private final WeakIdentityMap<Block, String> handled = new WeakIdentityMap<>();

    AutoInjector(Path adapterDir, AdapterConfig config, String name, Path saveDir, boolean failOnError) {
        this.adapterDir = adapterDir;
        this.config = config;
        this.name = name;
        this.saveDir = saveDir;
        this.failOnError = failOnError;
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
            try {
                LOG.info("model {} in use ({}): injecting adapter '{}' from {}", root.getClass().getName(), trigger,
                        name, adapterDir);
                Peft.loadAdapter(root, adapterDir, name);
            } catch (PeftConfigException | IllegalArgumentException | IllegalStateException
                    | java.io.UncheckedIOException e) {
                if ("forward".equals(trigger) && e instanceof PeftConfigException
                        && e.getMessage() != null && e.getMessage().startsWith("Target modules")) {
                    LOG.warn("a forward pass ran on {} but none of its modules is targeted: {}; left unadapted",
                            root.getClass().getName(), e.getMessage());
                    return;
                }
                String message = "cannot inject adapter '" + name + "' from " + adapterDir + " into "
                        + root.getClass().getName() + ": " + e.getMessage();
                if (failOnError) {
                    LOG.error("{} (onError=fail: stopping; set onError=warn to run without the adapter)", message);
                    throw new InjectionFailure(message, e);
                }
                LOG.warn("{} (onError=warn: the model runs WITHOUT the adapter)", message);
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
        ModelAdapters adapters = Peft.adapters(model.getBlock()).orElse(null);
        if (adapters == null || !adapters.adapterNames().contains(name)) {
            return;
        }
        Path target = Peft.DEFAULT_ADAPTER.equals(name) ? saveDir : saveDir.resolve(name);
        Peft.saveAdapter(model.getBlock(), target, name);
    }

    /** The adapter's config, as read at start-up. */
    AdapterConfig config() {
        return config;
    }
}
