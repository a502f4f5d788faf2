package io.peft4j.agent.config;

import io.peft4j.config.Suggestions;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * The agent's options, resolved from four sources in this order of precedence (the first that sets a key wins):
 * <ol>
 *   <li>agent arguments: {@code -javaagent:peft4j-agent.jar=adapter=DIR,onError=warn} (comma-separated
 *       {@code key=value});</li>
 *   <li>system properties {@code peft4j.KEY} ({@code -Dpeft4j.onError=warn});</li>
 *   <li>environment variables {@code PEFT4J_KEY} in upper snake case ({@code PEFT4J_ON_ERROR=warn},
 *       {@code PEFT4J_ADAPTER__other=DIR} for {@code adapter.other});</li>
 *   <li>an options file in Java properties format with the same keys, named by {@code config=FILE} /
 *       {@code peft4j.config} / {@code PEFT4J_CONFIG};</li>
 * </ol>
 * then the defaults of {@link OptionKey}. Unknown keys and malformed values are errors that name the key and where
 * it came from. See {@code agent/OPTIONS.md} for the table.
 */
public final class AgentOptions {

    private final Map<String, String> values;
    private final Map<String, String> sources;

    private AgentOptions(Map<String, String> values, Map<String, String> sources) {
        this.values = values;
        this.sources = sources;
    }

    /**
     * Resolves the options of this JVM.
     *
     * @param agentArgs the agent arguments (may be null)
     * @param properties the system properties
     * @param environment the environment
     * @return the validated options
     * @throws IllegalArgumentException naming the option and its source when something is wrong
     */
    public static AgentOptions resolve(String agentArgs, Properties properties, Map<String, String> environment) {
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, String> sources = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : parseArguments(agentArgs).entrySet()) {
            values.put(e.getKey(), e.getValue());
            sources.put(e.getKey(), "agent argument " + e.getKey());
        }
        List<String> names = new ArrayList<>(properties.stringPropertyNames());
        Collections.sort(names);
        for (String name : names) {
            if (!name.startsWith(OptionKey.PROPERTY_PREFIX) || name.startsWith("peft4j.internal.")) {
                continue;
            }
            String key = name.substring(OptionKey.PROPERTY_PREFIX.length());
            checkKey(key, "system property " + name);
            values.putIfAbsent(key, properties.getProperty(name));
            sources.putIfAbsent(key, "system property " + name);
        }
        List<String> vars = new ArrayList<>(environment.keySet());
        Collections.sort(vars);
        for (String var : vars) {
            if (!var.startsWith(OptionKey.ENV_PREFIX)) {
                continue;
            }
            String key = OptionKey.keyOfEnvVar(var);
            if (key == null) {
                throw new IllegalArgumentException("unknown environment variable " + var
                        + Suggestions.didYouMean(var, envVarNames()) + " (peft4j reads " + envVarNames() + ")");
            }
            values.putIfAbsent(key, environment.get(var));
            sources.putIfAbsent(key, "environment variable " + var);
        }
        String config = values.get(OptionKey.CONFIG.key());
        if (config != null && !config.isBlank()) {
            readFile(Path.of(config.trim()), sources.get(OptionKey.CONFIG.key()), values, sources);
        }
        for (OptionKey k : OptionKey.values()) {
            if (k.defaultValue() != null && !values.containsKey(k.key())) {
                values.put(k.key(), k.defaultValue());
                sources.put(k.key(), "default");
            }
        }
        AgentOptions options = new AgentOptions(values, sources);
        options.validate();
        return options;
    }

    /**
     * Splits agent arguments into keys and values, checking the keys.
     *
     * @param agentArgs {@code key=value,key=value} (may be null or blank)
     * @return the pairs in order
     */
    public static Map<String, String> parseArguments(String agentArgs) {
        Map<String, String> out = new LinkedHashMap<>();
        if (agentArgs == null || agentArgs.isBlank()) {
            return out;
        }
        for (String part : agentArgs.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("agent argument '" + part.trim() + "' is not key=value (keys: "
                        + OptionKey.knownKeys() + ")");
            }
            String key = part.substring(0, eq).trim();
            checkKey(key, "agent argument " + key);
            if (out.containsKey(key)) {
                throw new IllegalArgumentException("agent argument " + key + " is given twice");
            }
            out.put(key, part.substring(eq + 1).trim());
        }
        return out;
    }

    private static void readFile(Path file, String namedBy, Map<String, String> values, Map<String, String> sources) {
        Properties props = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            props.load(reader);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot read options file " + file.toAbsolutePath() + " (" + namedBy
                    + "): " + e, e);
        }
        Path base = file.toAbsolutePath().getParent();
        List<String> keys = new ArrayList<>(props.stringPropertyNames());
        Collections.sort(keys);
        String where = "options file " + file.toAbsolutePath();
        for (String key : keys) {
            checkKey(key, where + ": key " + key);
            if (OptionKey.of(key) == OptionKey.CONFIG) {
                throw new IllegalArgumentException(where + ": key config is not allowed in an options file");
            }
            String value = props.getProperty(key).trim();
            if (OptionKey.of(key).kind() == OptionKey.Kind.PATH && !value.isEmpty() && base != null
                    && !value.startsWith(OptionKey.MODEL_DIR)) {
                value = base.resolve(value).normalize().toString();
            }
            values.putIfAbsent(key, value);
            sources.putIfAbsent(key, where);
        }
    }

    private static void checkKey(String key, String where) {
        if (OptionKey.of(key) == null) {
            List<String> keys = new ArrayList<>();
            for (OptionKey k : OptionKey.values()) {
                keys.add(k.key());
            }
            throw new IllegalArgumentException("unknown option in " + where + Suggestions.didYouMean(key, keys)
                    + " (keys: " + OptionKey.knownKeys() + ")");
        }
    }

    private static List<String> envVarNames() {
        List<String> names = new ArrayList<>();
        for (OptionKey k : OptionKey.values()) {
            names.add(k.envVar());
        }
        return names;
    }

    /** Checks that option {@code key} is one of {@code words} (case-insensitive), naming the option's source. */
    private void choice(OptionKey key, String first, String second) {
        String value = values.get(key.key());
        if (!List.of(first, second).contains(value.trim().toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("option " + key.key() + " must be " + first + " or " + second
                    + ", not '" + value + "' (" + source(key.key()) + ")");
        }
    }

    private void validate() {
        for (OptionKey k : OptionKey.values()) {
            if (k.kind() == OptionKey.Kind.BOOLEAN) {
                bool(k);
            }
        }
        choice(OptionKey.ON_ERROR, "fail", "warn");
        choice(OptionKey.ON_NON_FINITE, "fail", "revert");
        choice(OptionKey.UNKNOWN_ADAPTER, "fail", "base");
        choice(OptionKey.MKL_CODE_PATHS, "vendor", "features");
        if (values.get(OptionKey.NAME.key()).isBlank()) {
            throw new IllegalArgumentException("option name must not be empty (" + source("name") + ")");
        }
        for (Map.Entry<String, String> e : values.entrySet()) {
            OptionKey k = OptionKey.of(e.getKey());
            if (k.kind() == OptionKey.Kind.PATH && e.getValue().isBlank() && k != OptionKey.ADAPTER) {
                throw new IllegalArgumentException("option " + e.getKey() + " needs a path (" + source(e.getKey())
                        + ")");
            }
        }
        Map<String, Path> adapters = adapters();
        List<String> active = active();
        if (active != null) {
            for (String name : active) {
                if (!adapters.containsKey(name)) {
                    throw new IllegalArgumentException("option active names adapter '" + name + "', which is not "
                            + "configured (adapters: " + adapters.keySet() + "; " + source("active") + ")");
                }
            }
        }
        if (values.get(OptionKey.PRELOAD.key()) != null && path(OptionKey.ADAPTER_ROOT.key()) == null) {
            throw new IllegalArgumentException("option preload needs adapterRoot (" + source(OptionKey.PRELOAD.key())
                    + ")");
        }
        for (String key : List.of(OptionKey.ADAPTER_ROOT.key(), OptionKey.DUMP_DIR.key())) {
            Path dir = path(key);
            if (dir != null && Files.exists(dir) && !Files.isDirectory(dir)) {
                throw new IllegalArgumentException("option " + key + "=" + dir + " is not a directory ("
                        + source(key) + ")");
            }
        }
    }

    private boolean bool(OptionKey key) {
        String v = values.get(key.key());
        if (v == null) {
            return false;
        }
        if ("true".equalsIgnoreCase(v.trim())) {
            return true;
        }
        if ("false".equalsIgnoreCase(v.trim())) {
            return false;
        }
        throw new IllegalArgumentException("option " + key.key() + " must be true or false, not '" + v + "' ("
                + source(key.key()) + ")");
    }

    private Path path(String key) {
        String v = values.get(key);
        return v == null || v.isBlank() ? null : Path.of(v.trim());
    }

    /** Whether the agent is on. */
    public boolean enabled() {
        return bool(OptionKey.ENABLED);
    }

    /**
     * The adapters to inject, by name, in order: {@code adapter} (named by {@code name}) first, then every
     * {@code adapter.NAME} in the order of their sources.
     *
     * @throws IllegalArgumentException when a name is given twice
     */
    public Map<String, Path> adapters() {
        Map<String, Path> out = new LinkedHashMap<>();
        Path main = path(OptionKey.ADAPTER.key());
        if (main != null) {
            out.put(values.get(OptionKey.NAME.key()).trim(), main);
        }
        for (Map.Entry<String, String> e : values.entrySet()) {
            if (OptionKey.of(e.getKey()) != OptionKey.ADAPTER_NAMED) {
                continue;
            }
            String name = e.getKey().substring(OptionKey.NAMED_ADAPTER_PREFIX.length());
            if (out.containsKey(name)) {
                throw new IllegalArgumentException("adapter name '" + name + "' is given twice (" + source(e.getKey())
                        + " and option adapter with name=" + name + ")");
            }
            out.put(name, Path.of(e.getValue().trim()));
        }
        out.putAll(preloaded(out));
        return out;
    }

    /** The {@code Input} property naming a request's adapter, or {@code null} when per-request adapters are off. */
    public String requestAdapterProperty() {
        String v = values.get(OptionKey.REQUEST_ADAPTER_PROPERTY.key());
        return v == null || v.isBlank() ? null : v.trim();
    }

    /** Whether a request naming an unknown adapter runs on the base model ({@code unknownAdapter=base}). */
    public boolean unknownAdapterToBase() {
        return "base".equalsIgnoreCase(values.get(OptionKey.UNKNOWN_ADAPTER.key()).trim());
    }

    /**
     * The adapters {@code preload} names under {@code adapterRoot}: {@code all} (every directory holding an
     * {@code adapter_config.json}, by name) or names joined with {@code +}; adapters already configured by name keep
     * their directory.
     */
    private Map<String, Path> preloaded(Map<String, Path> configured) {
        String preload = values.get(OptionKey.PRELOAD.key());
        Path root = path(OptionKey.ADAPTER_ROOT.key());
        Map<String, Path> out = new LinkedHashMap<>();
        if (preload == null || preload.isBlank() || root == null) {
            return out;
        }
        List<String> names;
        if ("all".equalsIgnoreCase(preload.trim())) {
            if (!Files.isDirectory(root)) {
                throw new IllegalArgumentException("option preload=all: adapterRoot " + root + " is not a directory ("
                        + source(OptionKey.ADAPTER_ROOT.key()) + ")");
            }
            names = new ArrayList<>();
            try (java.util.stream.Stream<Path> dirs = Files.list(root)) {
                dirs.filter(d -> Files.isRegularFile(d.resolve("adapter_config.json")))
                        .map(d -> d.getFileName().toString()).sorted().forEach(names::add);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("option preload=all: cannot list adapterRoot " + root + ": " + e);
            }
        } else {
            names = splitNames(preload);
            for (String name : names) {
                if (!Files.isRegularFile(root.resolve(name).resolve("adapter_config.json"))) {
                    throw new IllegalArgumentException("option preload names adapter '" + name + "', but "
                            + root.resolve(name).resolve("adapter_config.json") + " does not exist ("
                            + source(OptionKey.PRELOAD.key()) + ")");
                }
            }
        }
        for (String name : names) {
            if (!configured.containsKey(name)) {
                out.put(name, root.resolve(name));
            }
        }
        return out;
    }

    /** The adapters to activate, or {@code null} for PEFT's default (the last injected). */
    public List<String> active() {
        return splitNames(values.get(OptionKey.ACTIVE.key()));
    }

    /**
     * Splits {@code a+b} into names.
     *
     * @return the names, or {@code null} for null or blank text
     */
    public static List<String> splitNames(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        List<String> names = new ArrayList<>();
        for (String part : text.split("\\+")) {
            if (!part.isBlank()) {
                names.add(part.trim());
            }
        }
        return names.isEmpty() ? null : names;
    }

    /** Whether to merge the active adapters into the base weights after injection. */
    public boolean merge() {
        return bool(OptionKey.MERGE);
    }

    /** The directory trained adapters are saved to, or {@code null}. */
    public Path saveDir() {
        return path(OptionKey.SAVE.key());
    }

    /** The {@code nameMap} option ({@code bert} or a file), or {@code null}. */
    public String nameMap() {
        String v = values.get(OptionKey.NAME_MAP.key());
        return v == null || v.isBlank() ? null : v.trim();
    }

    /** Where JMX {@code load} finds adapters, or {@code null}. */
    public Path adapterRoot() {
        return path(OptionKey.ADAPTER_ROOT.key());
    }

    /** Where JMX {@code dump} writes, or {@code null}. */
    public Path dumpDir() {
        return path(OptionKey.DUMP_DIR.key());
    }

    /** Whether to register the MXBean. */
    public boolean jmx() {
        return bool(OptionKey.JMX);
    }

    /** Whether DEBUG messages are printed. */
    public boolean debug() {
        return bool(OptionKey.DEBUG);
    }

    /** Whether oneMKL is to choose its code paths by the CPU's features ({@code mklCodePaths=features}). */
    public boolean mklByFeatures() {
        return "features".equalsIgnoreCase(values.get(OptionKey.MKL_CODE_PATHS.key()).trim());
    }

    /** Whether a training step that leaves an adapter non-finite is undone ({@code onNonFinite=revert}). */
    public boolean revertNonFiniteSteps() {
        return "revert".equalsIgnoreCase(values.get(OptionKey.ON_NON_FINITE.key()).trim());
    }

    /** Whether a configuration error stops the application. */
    public boolean failOnError() {
        return "fail".equalsIgnoreCase(values.get(OptionKey.ON_ERROR.key()).trim());
    }

    /**
     * A best-effort reading of {@code onError} for when the options themselves are broken: {@code false} only when
     * some source clearly says {@code warn}.
     */
    public static boolean failOnErrorLeniently(String agentArgs, Properties properties, Map<String, String> env) {
        String v = null;
        if (agentArgs != null) {
            for (String part : agentArgs.split(",")) {
                String p = part.trim();
                if (p.startsWith("onError=")) {
                    v = p.substring("onError=".length());
                }
            }
        }
        if (v == null) {
            v = properties.getProperty(OptionKey.ON_ERROR.property());
        }
        if (v == null) {
            v = env.get(OptionKey.ON_ERROR.envVar());
        }
        return v == null || !"warn".equalsIgnoreCase(v.trim());
    }

    /** Where option {@code key} came from, for messages: {@code agent argument}, {@code default}, ... */
    public String source(String key) {
        return sources.getOrDefault(key, "unset");
    }

    /** The value of {@code key}, or {@code null}. */
    public String value(String key) {
        return values.get(key);
    }

    /** Every set option with its source, for the start-up log. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        values.forEach((k, v) -> {
            if (!"default".equals(sources.get(k))) {
                sb.append(sb.length() == 0 ? "" : ", ").append(k).append('=').append(v).append(" (")
                        .append(sources.get(k)).append(')');
            }
        });
        return sb.length() == 0 ? "defaults only" : sb.toString();
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
