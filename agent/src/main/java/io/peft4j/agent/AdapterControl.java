package io.peft4j.agent;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.peft4j.Peft;
import io.peft4j.agent.config.AgentOptions;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.io.TensorArrays;
import io.peft4j.layer.ModuleAdapter;
import io.peft4j.log.PeftLog;
import io.peft4j.lora.Combination;
import io.peft4j.lora.CombineOptions;
import io.peft4j.lora.LoraHotswap;
import io.peft4j.state.AdapterDirectory;
import io.peft4j.traced.TracedModel;
import io.peft4j.traced.TracedModels;
import io.peft4j.tuner.AdapterRegistry;
import io.peft4j.tuner.ModelAdapters;
import io.peft4j.tuner.TunedModule;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What an operator can do to the adapters of a running application (the JMX operations), on every model at once:
 * every model that carries adapters for {@code activate}, {@code disable}, {@code enable}, {@code merge},
 * {@code unmerge}, {@code dump} and {@code removeAll}; every model in use (adapted or not) for {@code load}.
 *
 * <p>Traced models (TorchScript) take the same operations through {@link TracedControl}: their adapters are merged
 * into the weights, so {@code activate} and {@code load} unmerge the current adapters and merge the new ones.
 *
 * <p>Each operation validates everything before it changes anything, runs while no injection is in progress, and
 * relies on the atomicity of {@link ModelAdapters}' operations: a concurrent forward pass sees the adapters before
 * or after a step, never a mix. Failures are {@link IllegalArgumentException} (bad request) or
 * {@link IllegalStateException} (cannot be done now) carrying only a message, so that a JMX client needs none of
 * peft4j's or DJL's classes to read them.
 */
public final class AdapterControl {

    private static final PeftLog LOG = PeftLog.get(AdapterControl.class);
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final InjectionGate gate;
    private final KnownModels models;
    private final Path adapterRoot;
    private final Path dumpDir;
    private final TracedControl traced;

    /** One module that carries an adapter (a row of {@code InjectedModules}). */
    public record ModuleRow(String model, String path, String blockClass, String adapterName, String adapterType,
            int rank, double scaling, long trainableParameters) {}

    /** One adapter of one model (a row of {@code Adapters}). */
    public record AdapterRow(String model, String name, String type, boolean active, boolean enabled, boolean merged,
            long parameterCount, double l2Norm, long memoryBytes) {}

    /**
     * Creates the control.
     *
     * @param gate shared with automatic injection: its monitor (operations never overlap an injection) and its
     *     switch ({@link #removeAll()} stops automatic injection)
     * @param models the models in use
     * @param adapterRoot where {@link #load} finds adapters, or {@code null}
     * @param dumpDir where {@link #dump} writes, or {@code null}
     */
    AdapterControl(InjectionGate gate, KnownModels models, Path adapterRoot, Path dumpDir) {
        this.gate = gate;
        this.models = models;
        this.adapterRoot = adapterRoot == null ? null : adapterRoot.toAbsolutePath().normalize();
        this.dumpDir = dumpDir == null ? null : dumpDir.toAbsolutePath().normalize();
        this.traced = new TracedControl(models);
    }

    /** Where {@code load} finds adapters, or {@code null}. */
    public Path adapterRoot() {
        return adapterRoot;
    }

    /** Where {@code dump} writes, or {@code null}. */
    public Path dumpDir() {
        return dumpDir;
    }

    /** The models that carry adapters, in order of first use. */
    private List<ModelAdapters> adapted() {
        List<ModelAdapters> list = new ArrayList<>(AdapterRegistry.models());
        Comparator<Block> order = models.order();
        list.sort((a, b) -> order.compare(a.root(), b.root()));
        return list;
    }

    private List<ModelAdapters> requireAdapted() {
        List<ModelAdapters> list = adapted();
        if (list.isEmpty() && traced.adapted().isEmpty()) {
            throw new IllegalStateException("no model carries adapters (yet): nothing to change");
        }
        return list;
    }

    /** Every module that carries an adapter, per model, module and adapter. */
    public List<ModuleRow> modules() {
        synchronized (gate) {
            List<ModuleRow> rows = new ArrayList<>();
            for (ModelAdapters model : adapted()) {
                String id = models.idOf(model.root());
                for (TunedModule module : model.tunedModules().values()) {
                    for (ModuleAdapter a : module.adapters().values()) {
                        rows.add(new ModuleRow(id, module.path(), module.block().getClass().getName(),
                                a.adapterName(), a.adapterType(), a.rank(), a.scaling(), a.parameterCount()));
                    }
                }
            }
            rows.addAll(traced.modules());
            return rows;
        }
    }

    /**
     * The module tree of every model in use ({@code Peft.moduleTree}), or of the one whose id is {@code model}: a
     * header line per model ({@code model Mlp#1 (io.example.Mlp)}) and one line per module with its block class,
     * parameter shapes and the adapters it carries.
     *
     * @param model a model id as {@code list} shows it ({@code Mlp#1}), or empty for every model
     */
    public String tree(String model) {
        synchronized (gate) {
            StringBuilder sb = new StringBuilder();
            List<String> ids = new ArrayList<>();
            for (Block root : models.roots()) {
                String id = models.idOf(root);
                ids.add(id);
                if (model == null || model.isBlank() || model.trim().equals(id)) {
                    sb.append(sb.length() == 0 ? "" : "\n").append("model ").append(id).append(" (")
                            .append(root.getClass().getName()).append(")\n")
                            .append(Peft.moduleTree(root).describe());
                }
            }
            if (sb.length() == 0) {
                throw new IllegalArgumentException(ids.isEmpty() ? "no model in use yet (a model is seen when the"
                        + " application first uses it)" : "no model '" + model + "' (models: " + ids + ")");
            }
            return sb.toString();
        }
    }

    /** Every adapter of every model with its state and the L2 norm of its parameters. */
    public List<AdapterRow> adapters() {
        synchronized (gate) {
            List<AdapterRow> rows = new ArrayList<>();
            for (ModelAdapters model : adapted()) {
                String id = models.idOf(model.root());
                List<String> active = model.activeAdapters();
                boolean enabled = model.adaptersEnabled();
                for (String name : model.adapterNames()) {
                    long count = 0;
                    long bytes = 0;
                    double squares = 0;
                    boolean merged = false;
                    boolean unmerged = false;
                    for (TunedModule module : model.tunedModules().values()) {
                        ModuleAdapter a = module.adapter(name);
                        if (a == null) {
                            continue;
                        }
                        count += a.parameterCount();
                        bytes += a.memoryBytes();
                        for (Parameter p : a.parameters().values()) {
                            squares += sumOfSquares(p);
                        }
                        if (module.merged().contains(name)) {
                            merged = true;
                        } else {
                            unmerged = true;
                        }
                    }
                    rows.add(new AdapterRow(id, name, model.config(name).peftType().jsonName(), active.contains(name),
                            enabled, merged && !unmerged, count, Math.sqrt(squares), bytes));
                }
            }
            rows.addAll(traced.adapters());
            return rows;
        }
    }

    private static double sumOfSquares(Parameter p) {
        if (p.getArray() == null) {
            return 0;
        }
        double sum = 0;
        for (float v : TensorArrays.fromNDArray(p.getArray()).toFloatArray()) {
            sum += (double) v * v;
        }
        return sum;
    }

    /**
     * Activates {@code names} ({@code a+b}) on every adapted model; a merged model is unmerged first, as PEFT's
     * {@code set_adapter} does.
     */
    public String activate(String names) {
        List<String> list = AgentOptions.splitNames(names);
        if (list == null) {
            throw new IllegalArgumentException("activate needs adapter names, e.g. 'default' or 'a+b'");
        }
        synchronized (gate) {
            List<ModelAdapters> all = requireAdapted();
            for (ModelAdapters model : all) {
                for (String name : list) {
                    if (!model.adapterNames().contains(name)) {
                        throw new IllegalArgumentException("model " + models.idOf(model.root()) + " has no adapter '"
                                + name + "' (adapters: " + model.adapterNames() + "); nothing was changed");
                    }
                }
            }
            traced.checkHas(list);
            List<String> done = new ArrayList<>();
            for (ModelAdapters model : all) {
                unmergeIfMerged(model);
                model.setActiveAdapters(list);
                done.add(models.idOf(model.root()));
            }
            done.addAll(traced.activate(list));
            LOG.info("JMX: activated {} on {}", list, done);
            return "activated " + String.join("+", list) + " on " + done;
        }
    }

    private void unmergeIfMerged(ModelAdapters model) {
        for (TunedModule module : model.tunedModules().values()) {
            if (!module.merged().isEmpty()) {
                LOG.info("model {} is merged: unmerging first", models.idOf(model.root()));
                model.unmerge();
                return;
            }
        }
    }

    /** Disables or re-enables the adapters of every adapted model. */
    public String setEnabled(boolean enabled) {
        synchronized (gate) {
            List<String> done = new ArrayList<>();
            for (ModelAdapters model : requireAdapted()) {
                model.setAdaptersEnabled(enabled);
                done.add(models.idOf(model.root()));
            }
            done.addAll(traced.setEnabled(enabled));
            LOG.info("JMX: adapters {} on {}", enabled ? "enabled" : "disabled", done);
            return (enabled ? "enabled" : "disabled") + " adapters on " + done;
        }
    }

    /** Merges the active adapters of every adapted model into its base weights (safe merge). */
    public String merge() {
        synchronized (gate) {
            List<String> done = new ArrayList<>();
            for (ModelAdapters model : requireAdapted()) {
                List<String> active = model.activeAdapters();
                model.merge(active, true);
                done.add(models.idOf(model.root()) + " " + active);
            }
            done.addAll(traced.merge());
            LOG.info("JMX: merged {}", done);
            return "merged " + done;
        }
    }

    /** Unmerges every adapted model. */
    public String unmerge() {
        synchronized (gate) {
            List<String> done = new ArrayList<>();
            for (ModelAdapters model : requireAdapted()) {
                model.unmerge();
                done.add(models.idOf(model.root()));
            }
            done.addAll(traced.unmerge());
            LOG.info("JMX: unmerged {}", done);
            return "unmerged " + done;
        }
    }

    /**
     * Loads adapter {@code adapterRoot/NAME} into every model in use and activates it (a hot swap: a concurrent
     * forward pass sees the old adapters or the new one, never a mix). A model that already has adapter
     * {@code NAME} gets the new weights in place (PEFT's {@code hotswap_adapter}: no re-injection, scalings updated,
     * smaller ranks zero-padded), when the configs are compatible as PEFT checks them.
     */
    public String load(String name) {
        checkName(name);
        if (adapterRoot == null) {
            throw new IllegalStateException("load is disabled: start the agent with adapterRoot=DIR (adapters are"
                    + " loaded from DIR/NAME)");
        }
        Path dir = adapterRoot.resolve(name);
        if (!dir.normalize().startsWith(adapterRoot) || !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("no adapter directory " + dir + " (adapterRoot=" + adapterRoot + ")");
        }
        if (!Files.isRegularFile(dir.resolve(AdapterDirectory.CONFIG_FILE))) {
            throw new IllegalArgumentException("adapter directory " + dir + " has no " + AdapterDirectory.CONFIG_FILE);
        }
        for (Path p : List.of(dir, dir.resolve(AdapterDirectory.CONFIG_FILE),
                dir.resolve(AdapterDirectory.WEIGHTS_FILE))) {
            requireInside(adapterRoot, p, "adapterRoot");
        }
        AdapterConfig config;
        try {
            config = AdapterConfigs.read(dir);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        synchronized (gate) {
            List<Block> roots = new ArrayList<>(models.roots());
            for (ModelAdapters m : adapted()) {
                if (!roots.contains(m.root())) {
                    roots.add(m.root());
                }
            }
            if (roots.isEmpty()) {
                throw new IllegalStateException("no model is in use yet: load applies to the models the application"
                        + " has used");
            }
            List<Block> swaps = new ArrayList<>();
            for (Block root : roots) {
                ModelAdapters m = AdapterRegistry.model(root);
                if (TracedControl.has(root, name)) {
                    throw new IllegalArgumentException("model " + models.idOf(root) + " already has adapter '" + name
                            + "': activate it with activate(" + name + "), or removeAll first; nothing was changed");
                }
                if (m != null && m.adapterNames().contains(name)) {
                    try {
                        LoraHotswap.checkCompatible(m.config(name), config);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("model " + models.idOf(root) + " already has adapter '"
                                + name + "' and " + dir + " cannot be hot-swapped into it: " + e.getMessage()
                                + "; nothing was changed");
                    }
                    swaps.add(root);
                }
            }
            List<String> done = new ArrayList<>();
            for (Block root : roots) {
                String id = models.idOf(root);
                ModelAdapters existing = AdapterRegistry.model(root);
                if (existing != null) {
                    unmergeIfMerged(existing);
                }
                try {
                    if (TracedModels.isTraced(root)) {
                        traced.load(root, dir, name);
                        done.add(id);
                        continue;
                    }
                    ModelAdapters m;
                    if (swaps.contains(root)) {
                        Peft.hotswapAdapter(root, dir, name);
                        m = AdapterRegistry.model(root);
                        LOG.info("JMX: model {} already had adapter '{}': hot-swapped its weights in place", id, name);
                    } else {
                        m = Peft.loadAdapter(root, dir, name);
                    }
                    m.setActiveAdapters(List.of(name));
                    if (!m.adaptersEnabled()) {
                        m.setAdaptersEnabled(true);
                    }
                } catch (RuntimeException e) {
                    LOG.error("JMX: cannot load adapter '{}' from {} into model {}: {}", name, dir, id, e.toString(),
                            e);
                    throw new IllegalStateException("cannot load adapter '" + name + "' (" + config.peftType()
                            .jsonName() + ") from " + dir + " into model " + id + ": " + e.getMessage()
                            + (done.isEmpty() ? "" : " (already loaded into " + done + ")"));
                }
                done.add(id);
            }
            LOG.info("JMX: loaded adapter '{}' from {} into {} and activated it", name, dir, done);
            return "loaded " + name + " (" + config.peftType().jsonName() + ") from " + dir + " into " + done
                    + (swaps.isEmpty() ? "" : " (hot-swapped in place on " + swaps.stream().map(models::idOf)
                    .toList() + ")") + "; active: " + name;
        }
    }

    /**
     * PEFT's {@code add_weighted_adapter} on every adapted model that has all {@code adapters}: adds adapter
     * {@code name} combining them ({@code a+b}) with {@code weights} ({@code 0.7,0.3}). {@code combinationType} is
     * PEFT's ({@code ties}, {@code svd}, ...; blank: PEFT's default, {@code svd} for LoRA and the weighted sum for
     * IA3); {@code options} are {@code key=value} pairs ({@code density=0.5,majority_sign_method=total,svd_rank=8,
     * svd_clamp=0.99,seed=1}). The new adapter is not activated. A model that already has {@code name} keeps it
     * unchanged, as in PEFT (the answer says so).
     */
    public String combine(String name, String adapters, String weights, String combinationType, String options) {
        checkName(name);
        List<String> sources = AgentOptions.splitNames(adapters);
        if (sources == null) {
            throw new IllegalArgumentException("combine needs adapter names, e.g. 'a+b'");
        }
        List<Double> values = new ArrayList<>();
        for (String w : (weights == null ? "" : weights).split(",")) {
            try {
                values.add(Double.valueOf(w.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("combine: weight '" + w.trim() + "' is not a number (weights are "
                        + "comma-separated, one per adapter: 0.7,0.3)");
            }
        }
        if (values.size() != sources.size()) {
            throw new IllegalArgumentException("combine: " + values.size() + " weights for " + sources.size()
                    + " adapters " + sources);
        }
        boolean byDefault = combinationType == null || combinationType.isBlank();
        Combination combination = byDefault ? Combination.SVD : Combination.ofPeftName(combinationType.trim());
        CombineOptions parsed = CombineOptions.parse(options);
        synchronized (gate) {
            List<ModelAdapters> all = new ArrayList<>();
            for (ModelAdapters model : requireAdapted()) {
                if (model.adapterNames().containsAll(sources)) {
                    all.add(model);
                }
            }
            if (all.isEmpty()) {
                throw new IllegalArgumentException("no model has all of " + sources + " (" + allNames() + ")");
            }
            List<String> added = new ArrayList<>();
            List<String> unchanged = new ArrayList<>();
            for (ModelAdapters model : all) {
                String id = models.idOf(model.root());
                boolean done = byDefault ? Peft.addWeightedAdapter(model.root(), sources, values, name)
                        : Peft.addWeightedAdapter(model.root(), sources, values, name, combination, parsed);
                (done ? added : unchanged).add(id);
            }
            LOG.info("JMX: combined {} with weights {} into '{}' on {}{}", sources, values, name, added,
                    unchanged.isEmpty() ? "" : " (already there, unchanged: " + unchanged + ")");
            return "added " + name + " (" + (byDefault ? "default combination" : combination.peftName()) + " of "
                    + String.join("+", sources) + ", weights " + values + ") to " + added
                    + (unchanged.isEmpty() ? "" : "; " + unchanged + " already had '" + name + "': unchanged")
                    + "; activate it with activate " + name;
        }
    }

    /**
     * Writes adapter {@code name} of every model that has it into {@code dumpDir/NAME} ({@code adapter_config.json}
     * and {@code adapter_model.safetensors}; with several models, one sub-directory per model id). The files are
     * written into a temporary directory beside it and moved into place, so a reader never sees a half-written dump.
     *
     * @return the files written
     */
    public String dump(String name) {
        checkName(name);
        if (dumpDir == null) {
            throw new IllegalStateException("dump is disabled: start the agent with dumpDir=DIR (dumps are written"
                    + " to DIR/NAME only)");
        }
        Path target = dumpDir.resolve(name).normalize();
        if (!target.startsWith(dumpDir) || target.equals(dumpDir)) {
            throw new IllegalArgumentException("adapter name '" + name + "' leaves dumpDir " + dumpDir);
        }
        requireInside(dumpDir, target, "dumpDir");
        synchronized (gate) {
            List<ModelAdapters> having = new ArrayList<>();
            for (ModelAdapters m : adapted()) {
                if (m.adapterNames().contains(name)) {
                    having.add(m);
                }
            }
            List<TracedModel> tracedHaving = traced.having(name);
            if (having.isEmpty() && tracedHaving.isEmpty()) {
                throw new IllegalArgumentException("no model has adapter '" + name + "' (adapters: " + allNames()
                        + ")");
            }
            int count = having.size() + tracedHaving.size();
            Path tmp = null;
            try {
                Files.createDirectories(dumpDir);
                // Not Files.createTempDirectory (mode 700, kept by the rename): the dump gets the umask's
                // permissions, as any directory the user creates.
                tmp = Files.createDirectory(dumpDir.resolve("." + name + ".tmp-" + UUID.randomUUID()));
                List<Path> written = new ArrayList<>();
                for (ModelAdapters m : having) {
                    Path dir = count == 1 ? tmp : tmp.resolve(models.idOf(m.root()).replace('#', '-'));
                    for (Path p : Peft.saveAdapter(m.root(), dir, name)) {
                        written.add(target.resolve(tmp.relativize(p)));
                    }
                }
                for (TracedModel m : tracedHaving) {
                    Path dir = count == 1 ? tmp : tmp.resolve(models.idOf(m.root()).replace('#', '-'));
                    for (Path p : m.save(name, dir)) {
                        written.add(target.resolve(tmp.relativize(p)));
                    }
                }
                replace(tmp, target);
                tmp = null;
                LOG.info("JMX: dumped adapter '{}' to {}", name, written);
                List<String> names = new ArrayList<>();
                written.forEach(p -> names.add(p.toString()));
                return "wrote " + String.join(", ", names);
            } catch (IOException | UncheckedIOException e) {
                LOG.error("JMX: cannot dump adapter '{}' to {}: {}", name, target, e.toString(), e);
                throw new IllegalStateException("cannot dump adapter '" + name + "' to " + target + ": " + e);
            } finally {
                if (tmp != null) {
                    deleteTree(tmp);
                }
            }
        }
    }

    /**
     * Refuses {@code path} (when it exists) if, with its symbolic links resolved, it lies outside {@code root} (also
     * resolved): a link inside {@code adapterRoot} or {@code dumpDir} must not lead load or dump elsewhere.
     */
    static void requireInside(Path root, Path path, String option) {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Path real = path.toRealPath();
            Path realRoot = root.toRealPath();
            if (!real.startsWith(realRoot) || real.equals(realRoot)) {
                throw new IllegalArgumentException(path + " resolves to " + real + ", outside " + option + " "
                        + realRoot + " (a symbolic link): refused");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot resolve " + path + " inside " + option + " " + root + ": " + e);
        }
    }

    /** Moves {@code tmp} to {@code target}, replacing an earlier dump (each step an atomic rename). */
    private static void replace(Path tmp, Path target) throws IOException {
        Path old = null;
        if (Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            old = target.resolveSibling("." + target.getFileName() + ".old-" + System.nanoTime());
            move(target, old);
        }
        move(tmp, target);
        if (old != null) {
            deleteTree(old);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("cannot delete {}: {}", dir, e.toString());
        }
    }

    /**
     * Drops every adapter of every model (disable first, so that a concurrent forward pass goes from the adapted
     * output straight to the base output) and stops injecting into models not adapted yet.
     */
    public String removeAll() {
        synchronized (gate) {
            gate.close();
            Map<String, List<String>> removed = new LinkedHashMap<>();
            for (ModelAdapters model : adapted()) {
                List<String> names = model.adapterNames();
                if (names.isEmpty()) {
                    continue;
                }
                model.setAdaptersEnabled(false);
                // nothing active: deleting one adapter does not activate another (PEFT's delete_adapter would)
                model.setActiveAdapters(List.of());
                for (String name : names) {
                    model.deleteAdapter(name);
                }
                model.setAdaptersEnabled(true);
                removed.put(models.idOf(model.root()), names);
            }
            removed.putAll(traced.removeAll());
            LOG.info("JMX: removed all adapters {}; no further model will be adapted", removed);
            return "removed " + (removed.isEmpty() ? "nothing (no adapters)" : removed)
                    + "; auto-injection stopped";
        }
    }

    private Map<String, List<String>> allNames() {
        Map<String, List<String>> names = new LinkedHashMap<>();
        for (ModelAdapters m : adapted()) {
            names.put(models.idOf(m.root()), m.adapterNames());
        }
        for (TracedModel m : traced.adapted()) {
            names.put(traced.id(m), m.adapterNames());
        }
        return names;
    }

    /**
     * Checks that {@code name} is a plain adapter name usable as one directory name: letters, digits, {@code .},
     * {@code _}, {@code -}, not starting with a dot, no {@code ..}.
     */
    static void checkName(String name) {
        if (name == null || !SAFE_NAME.matcher(name).matches() || name.contains("..")) {
            throw new IllegalArgumentException("adapter name '" + name + "' is not allowed: use letters, digits, '.',"
                    + " '_' and '-' (no path separators, no '..', not starting with '.')");
        }
    }
}
