package io.peft4j.traced;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.io.SafetensorsWriter;
import io.peft4j.io.TensorArrays;
import io.peft4j.io.TensorData;
import io.peft4j.log.PeftLog;
import io.peft4j.state.AdapterDirectory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * The adapters of one traced model (a TorchScript module loaded by DJL). Adapters are read and checked when loaded,
 * and the active ones are merged into the weights in place, in the order given (LoRA, DoRA, IA3, AdaLoRA, saved
 * modules and biases); the model then runs at the base model's speed. Switching adapters unmerges the current ones
 * (exactly: see {@link WeightEdits}) and merges the new ones while no forward pass of the model runs: forward passes
 * hold a read lock ({@link #beginForward()}), changes take the write lock, so every pass sees the old weights or the
 * new ones, never a mix.
 */
public final class TracedModel {

    private static final PeftLog LOG = PeftLog.get(TracedModel.class);


    /** A module carrying a merged adapter (a row of JMX {@code InjectedModules}). */
    public record MergedModule(String path, String kind, String adapter, String type, int rank, double scaling,
            long parameters) {}

    private final Block root;
    private final TracedStructure structure;
    private final LayerMemory memory = new LayerMemory();
    private final Map<String, TracedAdapter> adapters = new LinkedHashMap<>();
    /** The changes merged into the weights, in the order made (undone in reverse). */
    private final List<WeightEdits.Undo> applied = new ArrayList<>();
    private final ReentrantReadWriteLock passes = new ReentrantReadWriteLock();
    private volatile String label;
    private List<String> active = List.of();
    private boolean enabled = true;
    private boolean merged;
    private Object training;

    TracedModel(Block root) {
        this.root = root;
        this.structure = TracedStructure.of(root);
        this.label = root.getClass().getSimpleName();
    }

    /** The model's root block. */
    public Block root() {
        return root;
    }

    /** Its module tree. */
    public TracedStructure structure() {
        return structure;
    }

    /** Names the model in logs (e.g. its file or the agent's model id). */
    public void setLabel(String label) {
        this.label = label;
    }

    /** The name used in logs. */
    public String label() {
        return label;
    }

    // ------------------------------------------------------------------ forward passes and changes

    /** A forward pass of the model starts: changes wait until {@link #endForward()}. */
    public void beginForward() {
        passes.readLock().lock();
    }

    /** The forward pass started with {@link #beginForward()} ended. */
    public void endForward() {
        passes.readLock().unlock();
    }

    /**
     * Runs {@code change} while no forward pass of this model runs. From inside a forward pass of this model on the
     * same thread it runs at once (a read hold cannot be upgraded).
     */
    public <T> T exclusive(Supplier<T> change) {
        if (passes.getReadHoldCount() > 0) {
            synchronized (this) {
                return change.get();
            }
        }
        passes.writeLock().lock();
        try {
            synchronized (this) {
                return change.get();
            }
        } finally {
            passes.writeLock().unlock();
        }
    }

    private void exclusively(Runnable change) {
        exclusive(() -> {
            change.run();
            return null;
        });
    }

    // ------------------------------------------------------------------ adapters

    /**
     * Reads adapter {@code name} from {@code dir} and checks every key against the model (PEFT-style errors naming
     * the key and shapes); it is not merged until activated.
     */
    public TracedAdapter load(Path dir, String name) {
        return exclusive(() -> {
            if (adapters.containsKey(name)) {
                throw new IllegalArgumentException("adapter '" + name + "' already exists on this model; delete it"
                        + " first or choose another name (existing: " + adapters.keySet() + ")");
            }
            NDManager parent = anyParameter().getArray().getManager();
            TracedAdapter adapter = TracedAdapterReader.read(structure, dir, name, memory, parent);
            adapters.put(name, adapter);
            LOG.info("traced model {}: read {} adapter '{}' from {}: {} modules{}, {} parameters", label,
                    adapter.config().peftType().jsonName(), name, dir, adapter.modules().size(),
                    adapter.replacements().isEmpty() ? "" : ", " + adapter.replacements().size()
                            + " replaced parameters", adapter.parameterCount());
            return adapter;
        });
    }

    private Parameter anyParameter() {
        if (structure.parameters().isEmpty()) {
            throw new IllegalStateException("the traced model " + label + " has no parameters to adapt");
        }
        return structure.parameters().values().iterator().next();
    }

    /** The adapter names, in load order. */
    public synchronized List<String> adapterNames() {
        return new ArrayList<>(adapters.keySet());
    }

    /** Adapter {@code name}. */
    public synchronized TracedAdapter adapter(String name) {
        TracedAdapter a = adapters.get(name);
        if (a == null) {
            throw unknown(name);
        }
        return a;
    }

    /** The config of adapter {@code name}. */
    public AdapterConfig config(String name) {
        return adapter(name).config();
    }

    /** The active adapters, in merge order. */
    public synchronized List<String> activeAdapters() {
        return active;
    }

    /** Whether adapters are enabled (disabled: the base weights). */
    public synchronized boolean adaptersEnabled() {
        return enabled;
    }

    /** Whether the active adapters are merged into the weights now. */
    public synchronized boolean isMerged() {
        return merged;
    }

    /**
     * Makes {@code names} the active adapters, merged in that order (PEFT's {@code set_adapter} then
     * {@code merge}): the current ones are unmerged first. On any failure the model is left with its base weights
     * and no active adapter, never half-merged.
     */
    public void setActiveAdapters(List<String> names) {
        exclusively(() -> {
            checkNotTraining("activate " + names);
            for (String name : names) {
                if (!adapters.containsKey(name)) {
                    throw unknown(name);
                }
            }
            if (new LinkedHashSet<>(names).size() != names.size()) {
                throw new IllegalArgumentException("adapter names repeat in " + names);
            }
            unmergeAll();
            active = List.copyOf(names);
            if (enabled) {
                mergeActive();
            }
        });
    }

    /** Merges the active adapters if they are not merged (after {@link #unmerge()}). */
    public void merge() {
        exclusively(() -> {
            if (!merged && enabled) {
                mergeActive();
            }
        });
    }

    /** Restores the base weights; the adapters stay loaded and active ({@link #merge()} merges them again). */
    public void unmerge() {
        exclusively(() -> {
            checkNotTraining("unmerge");
            unmergeAll();
        });
    }

    /** Disables (base weights) or re-enables (merges the active adapters again) the adapters. */
    public void setAdaptersEnabled(boolean on) {
        exclusively(() -> {
            checkNotTraining(on ? "enable" : "disable");
            if (!on) {
                unmergeAll();
            }
            enabled = on;
            if (on && !merged) {
                mergeActive();
            }
        });
    }

    /** Deletes adapter {@code name}; if it was active, the remaining active adapters are merged again. */
    public void deleteAdapter(String name) {
        exclusively(() -> {
            checkNotTraining("delete " + name);
            TracedAdapter adapter = adapters.get(name);
            if (adapter == null) {
                throw unknown(name);
            }
            boolean wasMerged = merged;
            unmergeAll();
            List<String> remaining = new ArrayList<>(active);
            remaining.remove(name);
            active = List.copyOf(remaining);
            adapters.remove(name);
            adapter.close();
            if (wasMerged && enabled) {
                mergeActive();
            }
        });
    }

    /** Writes adapter {@code name} into {@code dir} as PEFT does; returns the files. */
    public List<Path> save(String name, Path dir) {
        return exclusive(() -> {
            TracedAdapter adapter = adapter(name);
            LinkedHashMap<String, TensorData> tensors = new LinkedHashMap<>();
            adapter.stateDict().forEach((k, v) -> tensors.put(k, TensorArrays.fromNDArray(v)));
            try {
                Files.createDirectories(dir);
                AdapterConfigs.write(adapter.config(), dir);
                SafetensorsWriter.write(dir.resolve(AdapterDirectory.WEIGHTS_FILE), tensors, Map.of("format", "pt"));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write adapter '" + name + "' to " + dir + ": "
                        + e.getMessage(), e);
            }
            LOG.info("traced model {}: saved adapter '{}' ({} tensors) to {}", label, name, tensors.size(), dir);
            return List.of(dir.resolve(AdapterDirectory.CONFIG_FILE), dir.resolve(AdapterDirectory.WEIGHTS_FILE));
        });
    }

    /** The modules that carry a merged adapter, one row per module and adapter. */
    public synchronized List<MergedModule> mergedModules() {
        List<MergedModule> rows = new ArrayList<>();
        if (!merged) {
            return rows;
        }
        for (String name : active) {
            TracedAdapter a = adapters.get(name);
            a.modules().forEach((path, m) -> {
                long count = 0;
                for (NDArray t : m.tensors().values()) {
                    count += t.getShape().size();
                }
                rows.add(new MergedModule(path, m.kind().label(), name, a.config().peftType().jsonName(), m.rank(),
                        m.scaling(), count));
            });
            a.replacements().values().forEach(r -> rows.add(new MergedModule(r.parameter(), r.reason(), name,
                    a.config().peftType().jsonName(), 0, 1, r.value().getShape().size())));
        }
        return rows;
    }

    /** Bytes of exact base-weight copies held so that unmerging restores them exactly. */
    public synchronized long bytesHeldForUnmerge() {
        long n = 0;
        for (WeightEdits.Undo a : applied) {
            n += a.bytesHeld();
        }
        return n;
    }

    // ------------------------------------------------------------------ training

    synchronized void startTraining(Object t) {
        if (training != null) {
            throw new IllegalStateException("traced model " + label + " is already being trained by another Trainer");
        }
        training = t;
    }

    synchronized void stopTraining(Object t) {
        if (training == t) {
            training = null;
        }
    }

    synchronized Object training() {
        return training;
    }

    private void checkNotTraining(String what) {
        if (training != null) {
            throw new IllegalStateException("cannot " + what + " on traced model " + label + " while a Trainer trains"
                    + " its adapters " + active + "; close the Trainer first");
        }
    }

    /** Unmerges and forgets every change (training keeps the merged state itself). */
    void unmergeAll() {
        for (int i = applied.size() - 1; i >= 0; i--) {
            applied.get(i).undo();
        }
        if (!applied.isEmpty()) {
            LOG.info("traced model {}: unmerged {}; base weights restored", label, active);
        }
        applied.clear();
        merged = false;
    }

    /** Merges the active adapters in order; on failure restores the base weights and rethrows. */
    void mergeActive() {
        try {
            for (String name : active) {
                TracedAdapter adapter = adapters.get(name);
                for (TracedAdapter.Replacement r : adapter.replacements().values()) {
                    Parameter p = structure.parameters().get(r.parameter());
                    applied.add(WeightEdits.replace(p, old -> r.value(), "adapter '" + name + "' ("
                            + r.parameter() + ")"));
                    LOG.info("traced model {}: adapter '{}' replaces '{}' {} ({})", label, name, r.parameter(),
                            TracedShapes.str(r.value().getShape()), r.reason());
                }
                for (Map.Entry<String, ModuleMerge> e : adapter.modules().entrySet()) {
                    TracedModule module = structure.modules().get(e.getKey());
                    ModuleMerge m = e.getValue();
                    applied.addAll(m.merge(module));
                    LOG.info("merged {} adapter '{}' into '{}' ({}, {}): {}", adapter.config().peftType().jsonName(),
                            name, e.getKey(), m.kind().label(), module.describeParameters(), m.describe());
                }
            }
            merged = true;
            long held = bytesHeldForUnmerge();
            LOG.info("traced model {}: merged {} into the weights{}", label, active, held == 0 ? ""
                    : " (" + TracedTraining.size(held) + " of exact base-weight copies kept for unmerge)");
        } catch (RuntimeException e) {
            unmergeAll();
            active = List.of();
            throw e;
        }
    }

    private IllegalArgumentException unknown(String name) {
        return new IllegalArgumentException("no adapter named '" + name + "' on traced model " + label
                + " (adapters: " + adapters.keySet() + ")");
    }
}
