package io.peft4j.traced;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.config.AdapterConfig;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An adapter read for a traced model: its config, one {@link ModuleMerge} per targeted module and the base
 * parameters it replaces ({@code modules_to_save}, saved biases), all checked against the model. Its arrays live in
 * their own manager, freed by {@link #close()}.
 */
public final class TracedAdapter implements AutoCloseable {

    /** A base parameter the adapter file carries a value for, and why. */
    public record Replacement(String parameter, String savedKey, NDArray value, String reason) {}

    private final String name;
    private final AdapterConfig config;
    private final Path source;
    private final Map<String, ModuleMerge> modules;
    private final Map<String, Replacement> replacements;
    private final NDManager manager;

    TracedAdapter(String name, AdapterConfig config, Path source, Map<String, ModuleMerge> modules,
            Map<String, Replacement> replacements, NDManager manager) {
        this.name = name;
        this.config = config;
        this.source = source;
        this.modules = Collections.unmodifiableMap(new LinkedHashMap<>(modules));
        this.replacements = Collections.unmodifiableMap(new LinkedHashMap<>(replacements));
        this.manager = manager;
    }

    /** The adapter name. */
    public String name() {
        return name;
    }

    /** Its config. */
    public AdapterConfig config() {
        return config;
    }

    /** Where it was read from, or {@code null}. */
    public Path source() {
        return source;
    }

    /** The merges by module path, in model order. */
    public Map<String, ModuleMerge> modules() {
        return modules;
    }

    /** The replaced base parameters by parameter name. */
    public Map<String, Replacement> replacements() {
        return replacements;
    }

    /** The adapter's scalar parameter count (module tensors and replacements). */
    public long parameterCount() {
        long n = 0;
        for (ModuleMerge m : modules.values()) {
            for (NDArray t : m.tensors().values()) {
                n += t.getShape().size();
            }
        }
        for (Replacement r : replacements.values()) {
            n += r.value().getShape().size();
        }
        return n;
    }

    /**
     * The adapter's state dict as PEFT saves it ({@code fc1.lora_A.weight}, ..., then the replaced parameters under
     * their saved keys), the live arrays.
     */
    public LinkedHashMap<String, NDArray> stateDict() {
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        modules.forEach((path, m) -> m.tensors().forEach((slot, t) -> out.put(path + "." + slot, t)));
        replacements.values().forEach(r -> out.put(r.savedKey(), r.value()));
        return out;
    }

    @Override
    public void close() {
        manager.close();
    }
}
