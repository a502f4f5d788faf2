package io.peft4j.spark;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import io.peft4j.Peft;
import io.peft4j.tuner.ModelAdapters;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The models of this JVM (an executor, or the driver in local mode): one per {@link ModelSource}, loaded by the first
 * task that needs it and kept for every later task and job; the concurrent tasks of an executor share it, each with
 * its own {@code Predictor} (per-thread adapter selections need no lock). Adapters are added on demand, once:
 * an adapter the model already has — injected by the peft4j agent
 * ({@code -javaagent:peft4j-agent.jar=adapter.NAME=DIR} or {@code adapterRoot=DIR,preload=all}) — is used as it
 * is; any other is loaded from its {@link AdapterDirectories} entry through the Java API, which installs peft4j's
 * instrumentation in this JVM itself when no agent did.
 */
public final class ExecutorModels {

    private static final Map<ModelSource, Entry> MODELS = new ConcurrentHashMap<>();

    private ExecutorModels() {}

    /** Who gave a model an adapter. */
    public enum Origin {
        /** The model had it when this JVM first used it: the agent (or the application) injected it. */
        PRESENT,
        /** Loaded by {@link ExecutorModels} from its adapter directory through the Java API. */
        LOADED
    }

    /** One loaded model of this JVM and where each of its adapters came from. */
    static final class Entry {
        private final Model model;
        private final Map<String, Origin> origins = new LinkedHashMap<>();
        private boolean seen;

        Entry(Model model) {
            this.model = model;
        }
    }

    /**
     * A new predictor of the model of {@code source}, loaded on first use (one per task: predictors are not
     * thread-safe; the model is shared).
     *
     * @param source the model
     * @return the predictor
     * @throws Exception when the model cannot be loaded
     */
    static Predictor<RowBatchTranslator.Batch, float[][]> predictor(ModelSource source) throws Exception {
        Entry entry = entry(source);
        synchronized (entry) {
            // The agent injects its adapters when the application creates a Predictor: look at them after that.
            Predictor<RowBatchTranslator.Batch, float[][]> predictor =
                    entry.model.newPredictor(new RowBatchTranslator());
            if (!entry.seen) {
                adapterNames(entry.model).forEach(n -> entry.origins.put(n, Origin.PRESENT));
                entry.seen = true;
            }
            return predictor;
        }
    }

    /**
     * Makes sure the model of {@code source} (already loaded by {@link #predictor}) has every adapter of
     * {@code needed}, loading the missing ones from {@code dirs}.
     *
     * @param source the model
     * @param needed adapter names the rows of a batch use (base-model names excluded)
     * @param dirs where to load adapters the model does not have yet
     * @throws IllegalArgumentException naming the adapter when one is neither in the model nor in {@code dirs}
     */
    static void ensureAdapters(ModelSource source, Collection<String> needed, AdapterDirectories dirs) {
        Entry entry = MODELS.get(source);
        synchronized (entry) {
            for (String name : needed) {
                if (entry.origins.containsKey(name)) {
                    continue;
                }
                if (hasAdapter(entry.model, name)) {
                    entry.origins.put(name, Origin.PRESENT);
                    continue;
                }
                if (!dirs.names().contains(name)) {
                    throw new IllegalArgumentException("adapter '" + name + "' named by a row is neither in the model"
                            + " (it has " + adapterNames(entry.model) + ") nor among the adapter directories "
                            + dirs.names());
                }
                Peft.loadAdapter(entry.model.getBlock(), dirs.resolve(name), name);
                entry.origins.put(name, Origin.LOADED);
            }
        }
    }

    private static Entry entry(ModelSource source) throws Exception {
        Entry entry = MODELS.get(source);
        if (entry != null) {
            return entry;
        }
        synchronized (MODELS) {
            entry = MODELS.get(source);
            if (entry == null) {
                entry = new Entry(source.load());
                MODELS.put(source, entry);
            }
            return entry;
        }
    }

    private static boolean hasAdapter(Model model, String name) {
        return adapterNames(model).contains(name);
    }

    private static List<String> adapterNames(Model model) {
        return Peft.adapters(model.getBlock()).map(ModelAdapters::adapterNames).orElse(List.of());
    }

    /**
     * The adapters of this JVM's model of {@code source} and where each came from, in the order they were first
     * needed; empty if this JVM has not loaded that model.
     *
     * @param source the model
     * @return adapter name to its origin
     */
    public static Map<String, Origin> adapterOrigins(ModelSource source) {
        Entry entry = MODELS.get(source);
        if (entry == null) {
            return Map.of();
        }
        synchronized (entry) {
            return new LinkedHashMap<>(entry.origins);
        }
    }

    /** How many models this JVM has loaded. */
    public static int loadedModels() {
        return MODELS.size();
    }

    /** Adapter names of {@code rows} that need the model to have them, in first-seen order. */
    static List<String> adaptersOf(Collection<String> rows) {
        Set<String> names = new java.util.LinkedHashSet<>();
        for (String row : rows) {
            if (!AdapterColumn.isBase(row)) {
                names.add(row);
            }
        }
        return new ArrayList<>(names);
    }
}
