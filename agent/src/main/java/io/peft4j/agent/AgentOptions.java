package io.peft4j.agent;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * The agent's options: comma-separated {@code key=value} agent arguments
 * ({@code -javaagent:peft4j-agent.jar=adapter=DIR,save=OUT}); a key not given there is read from the system property
 * {@code peft4j.<key>}. Unknown keys and malformed values are errors that name the key.
 *
 * <table>
 *   <caption>Options</caption>
 *   <tr><th>key</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>adapter</td><td>(none)</td><td>adapter directory: adapter_config.json [+ adapter_model.safetensors]</td></tr>
 *   <tr><td>name</td><td>default</td><td>the name of the adapter given by {@code adapter}</td></tr>
 *   <tr><td>adapter.NAME</td><td>(none)</td><td>a further adapter directory, injected as NAME (any number)</td></tr>
 *   <tr><td>active</td><td>(last injected)</td><td>adapters to activate, joined with {@code +}</td></tr>
 *   <tr><td>merge</td><td>false</td><td>true merges the active adapters into the base weights after injection</td></tr>
 *   <tr><td>save</td><td>(none)</td><td>directory the trained adapter is written to when a Trainer closes</td></tr>
 *   <tr><td>enabled</td><td>true</td><td>false turns the agent off</td></tr>
 *   <tr><td>onError</td><td>fail</td><td>fail: stop the application on a configuration error; warn: run without adapters</td></tr>
 * </table>
 */
public final class AgentOptions {

    /** Every option key with its default ({@code null}: none). */
    public static final Map<String, String> DEFAULTS;

    static {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("adapter", null);
        d.put("name", "default");
        d.put("active", null);
        d.put("merge", "false");
        d.put("save", null);
        d.put("enabled", "true");
        d.put("onError", "fail");
        DEFAULTS = java.util.Collections.unmodifiableMap(d);
    }

    private final Map<String, String> values;
    private final Map<String, String> sources;

    private AgentOptions(Map<String, String> values, Map<String, String> sources) {
        this.values = values;
        this.sources = sources;
    }

    /** Parses agent arguments, then fills the rest from {@code properties} ({@code peft4j.<key>}). */
    public static AgentOptions parse(String agentArgs, Properties properties) {
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, String> sources = new LinkedHashMap<>();
        if (agentArgs != null && !agentArgs.isBlank()) {
            for (String part : agentArgs.split(",")) {
                if (part.isBlank()) {
                    continue;
                }
                int eq = part.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("agent option '" + part.trim()
                            + "' is not key=value (options: " + DEFAULTS.keySet() + ")");
                }
                String key = part.substring(0, eq).trim();
                checkKey(key, "agent option");
                values.put(key, part.substring(eq + 1).trim());
                sources.put(key, "agent argument");
            }
        }
        for (String name : properties.stringPropertyNames()) {
            if (name.startsWith("peft4j.") && !name.startsWith("peft4j.internal.")) {
                String key = name.substring("peft4j.".length());
                if (key.equals("debug")) {
                    continue;
                }
                checkKey(key, "system property peft4j.");
                if (!values.containsKey(key)) {
                    values.put(key, properties.getProperty(name));
                    sources.put(key, "system property " + name);
                }
            }
        }
        DEFAULTS.forEach((k, v) -> {
            if (!values.containsKey(k) && v != null) {
                values.put(k, v);
                sources.put(k, "default");
            }
        });
        AgentOptions options = new AgentOptions(values, sources);
        options.validate();
        return options;
    }

    private static void checkKey(String key, String where) {
        if (key.startsWith("adapter.") && key.length() > "adapter.".length()) {
            return;
        }
        if (!DEFAULTS.containsKey(key)) {
            throw new IllegalArgumentException("unknown " + where + (where.endsWith(".") ? "" : " ") + key
                    + " (known: " + DEFAULTS.keySet() + ")");
        }
    }

    private void validate() {
        List<String> active = active();
        if (active != null) {
            for (String name : active) {
                if (!adapters().containsKey(name)) {
                    throw new IllegalArgumentException("option active names adapter '" + name
                            + "', which is not configured (adapters: " + adapters().keySet() + ")");
                }
            }
        }
        bool("enabled");
        bool("merge");
        String onError = values.get("onError").toLowerCase(Locale.ROOT);
        if (!List.of("fail", "warn").contains(onError)) {
            throw new IllegalArgumentException("option onError must be fail or warn, not '" + values.get("onError")
                    + "' (" + sources.get("onError") + ")");
        }
        if (values.get("name").isBlank()) {
            throw new IllegalArgumentException("option name must not be empty (" + sources.get("name") + ")");
        }
    }

    private boolean bool(String key) {
        String v = values.get(key);
        if ("true".equalsIgnoreCase(v)) {
            return true;
        }
        if ("false".equalsIgnoreCase(v)) {
            return false;
        }
        throw new IllegalArgumentException("option " + key + " must be true or false, not '" + v + "' ("
                + sources.get(key) + ")");
    }

    /** Whether the agent is on. */
    public boolean enabled() {
        return bool("enabled");
    }

    /**
     * The adapters to inject, by name, in order: {@code adapter} (named by {@code name}) first, then every
     * {@code adapter.NAME} in the order given.
     */
    public Map<String, Path> adapters() {
        Map<String, Path> out = new LinkedHashMap<>();
        String main = values.get("adapter");
        if (main != null && !main.isBlank()) {
            out.put(values.get("name"), Path.of(main));
        }
        values.forEach((k, v) -> {
            if (k.startsWith("adapter.")) {
                String name = k.substring("adapter.".length());
                if (out.containsKey(name)) {
                    throw new IllegalArgumentException("adapter name '" + name + "' is given twice (" + source(k)
                            + ")");
                }
                out.put(name, Path.of(v));
            }
        });
        return out;
    }

    /** The adapters to activate, or {@code null} for PEFT's default (the last injected). */
    public List<String> active() {
        String v = values.get("active");
        if (v == null || v.isBlank()) {
            return null;
        }
        List<String> names = new java.util.ArrayList<>();
        for (String part : v.split("\\+")) {
            if (!part.isBlank()) {
                names.add(part.trim());
            }
        }
        return names;
    }

    /** Whether to merge the active adapters into the base weights after injection. */
    public boolean merge() {
        return bool("merge");
    }

    /** The directory trained adapters are saved to, or {@code null}. */
    public Path saveDir() {
        String v = values.get("save");
        return v == null || v.isBlank() ? null : Path.of(v);
    }

    /** Whether a configuration error stops the application. */
    public boolean failOnError() {
        return "fail".equalsIgnoreCase(values.get("onError"));
    }

    /** Where option {@code key} came from, for logs. */
    public String source(String key) {
        return sources.getOrDefault(key, "unset");
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
