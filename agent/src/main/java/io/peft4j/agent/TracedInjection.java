package io.peft4j.agent;

import ai.djl.nn.Block;
import io.peft4j.agent.config.OptionKey;
import io.peft4j.instrument.InjectionFailure;
import io.peft4j.log.PeftLog;
import io.peft4j.traced.TracedModel;
import io.peft4j.traced.TracedModels;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The agent's adapters for a traced model (a TorchScript module the application loaded): read, checked against the
 * model's parameters and merged into its weights, active ones in order, as the model is loaded. On any error the
 * model keeps its base weights; with {@code onError=fail} the application's load fails with the message.
 */
final class TracedInjection {

    private static final PeftLog LOG = PeftLog.get(TracedInjection.class);

    private final Map<String, Path> adapters;
    private final List<String> active;
    private final boolean failOnError;
    private final KnownModels models;

    TracedInjection(Map<String, Path> adapters, List<String> active, boolean failOnError, KnownModels models) {
        this.adapters = adapters;
        this.active = active;
        this.failOnError = failOnError;
        this.models = models;
    }

    /**
     * Merges the configured adapters into {@code root}, a traced model revealed by {@code trigger}.
     *
     * @param modelDir the directory the model was loaded from (for {@code {model}} in adapter paths), or null
     */
    void adapt(Block root, String trigger, Path modelDir) {
        if (adapters.isEmpty()) {
            return;
        }
        String id = models.idOf(root);
        TracedModel model = TracedModels.forBlock(root);
        model.setLabel(id);
        String current = null;
        try {
            for (Map.Entry<String, Path> e : adapters.entrySet()) {
                current = e.getKey();
                Path dir = resolve(e.getValue(), modelDir);
                LOG.info("traced model {} ({}) {}: merging adapter '{}' from {}", id, root.getClass().getName(),
                        "load".equals(trigger) ? "loaded" : "in use (" + trigger + ")", e.getKey(), dir);
                model.load(dir, e.getKey());
            }
            current = null;
            List<String> names = active != null ? active : List.of(new ArrayList<>(adapters.keySet())
                    .get(adapters.size() - 1));
            model.setActiveAdapters(names);
            LOG.info("traced model {}: active adapters {} merged into its weights ({} modules changed)", id, names,
                    model.mergedModules().size());
        } catch (RuntimeException e) {
            for (String name : model.adapterNames()) {
                model.deleteAdapter(name);
            }
            TracedModels.remove(root);
            String detail = e.getMessage() == null ? e.toString() : e.getMessage();
            if (detail.contains("inference tensor")) {
                detail += " (the model's parameters are inference tensors: it was loaded without the option"
                        + " trainParam=true before peft4j was attached; reload it, or start peft4j with -javaagent,"
                        + " which sets that option when the model is loaded)";
            }
            String message = "cannot merge " + (current == null ? "adapters" : "adapter '" + current + "' from "
                    + adapters.get(current)) + " into traced model " + id + (modelDir == null ? ""
                            : " (loaded from " + modelDir + ")") + ": " + detail;
            if (failOnError) {
                LOG.error("{} (onError=fail: stopping; set onError=warn to run without the adapter)", message);
                throw InjectionFailure.reported(message, (current == null ? "adapters were" : "adapter '" + current
                        + "' was") + " not merged into traced model " + id, e);
            }
            LOG.warn("{} (onError=warn: the model runs WITHOUT adapters)", message);
        }
    }

    /** {@code dir} with {@code {model}} replaced by {@code modelDir}. */
    static Path resolve(Path dir, Path modelDir) {
        String text = dir.toString();
        if (!text.contains(OptionKey.MODEL_DIR)) {
            return dir;
        }
        if (modelDir == null) {
            throw new IllegalArgumentException("adapter path " + text + " uses " + OptionKey.MODEL_DIR + ", but this"
                    + " model was not loaded from a file");
        }
        return Path.of(text.replace(OptionKey.MODEL_DIR, modelDir.toAbsolutePath().normalize().toString()));
    }
}
