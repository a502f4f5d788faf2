package io.peft4j.config;

import io.peft4j.io.JsonSyntaxException;
import io.peft4j.log.PeftLog;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Reads and writes {@code adapter_config.json} as PEFT 0.20 does.
 *
 * <p>Reading parses the JSON (as Python's {@code json.load}: NaN and Infinity allowed), asks the {@link PeftMethod}
 * registered for its {@code peft_type} to make the config (validated as PEFT validates it), then
 * {@link #checkSupported(AdapterConfig) checks} that peft4j implements every feature used. Unknown keys are a
 * warning, as in PEFT. Writing produces the bytes PEFT's {@code save_pretrained} writes
 * ({@code json.dumps(d, indent=2, sort_keys=True)}, no trailing newline), so {@code write(read(file))} reproduces a
 * PEFT-written file byte for byte.
 */
public final class AdapterConfigs {

    /** The file name PEFT uses ({@code CONFIG_NAME}). */
    public static final String CONFIG_NAME = "adapter_config.json";

    /** Where warnings go: peft4j's log. Tests replace it to capture them. */
    static volatile Consumer<String> warningSink = message -> PeftLog.get(AdapterConfigs.class).warn("{}", message);

    private AdapterConfigs() {}

    /**
     * Reads a config.
     *
     * @param dirOrFile an adapter directory (then {@code DIR/adapter_config.json} is read) or the JSON file
     * @throws PeftConfigException when the file is missing or unreadable, or the config is invalid or unsupported
     */
    public static AdapterConfig read(Path dirOrFile) {
        return readWith(dirOrFile, false);
    }

    private static AdapterConfig readWith(Path dirOrFile, boolean forInjection) {
        Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve(CONFIG_NAME) : dirOrFile;
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw PeftConfigException.unreadable(file.toString(),
                    "Can't find '" + CONFIG_NAME + "' at '" + dirOrFile + "'", e);
        } catch (IOException e) {
            throw PeftConfigException.unreadable(file.toString(), "cannot read the file: " + e, e);
        }
        return parseWith(text, file.toString(), forInjection);
    }

    /**
     * Parses a config from JSON text.
     *
     * @param json the content of an {@code adapter_config.json}
     * @param source names the text in messages, e.g. its file path
     * @throws PeftConfigException when the JSON is malformed, or the config is invalid or unsupported
     */
    public static AdapterConfig parse(String json, String source) {
        return parseWith(json, source, false);
    }

    private static AdapterConfig parseWith(String json, String source, boolean forInjection) {
        Object root;
        try {
            root = JsonValues.parse(json);
        } catch (JsonSyntaxException e) {
            throw PeftConfigException.unreadable(source, "malformed JSON: " + e.getMessage(), e);
        }
        if (!(root instanceof Map)) {
            throw new PeftConfigException(source, null,
                    "expected a JSON object, got " + JsonValues.describe(root));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) root;
        return fromMap(map, source, forInjection);
    }

    /**
     * Makes a config from JSON values, as {@link #parse} does from the text: e.g. {@link AdapterConfig#toJsonMap()}
     * of another config with some keys changed.
     *
     * @param json the keys of an {@code adapter_config.json} with JSON-like values ({@code null}, {@link Boolean},
     *     {@link Number}, {@link String}, {@link java.util.Collection}, {@link Map} with string keys)
     * @param source names the config in messages
     * @throws PeftConfigException when the config is invalid or unsupported
     */
    public static AdapterConfig fromJsonMap(Map<String, ?> json, String source) {
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) JsonValues.normalize(json);
        return fromMap(map, source, false);
    }

    private static AdapterConfig fromMap(Map<String, Object> json, String source, boolean forInjection) {
        Map<String, Object> map = new LinkedHashMap<>(json);
        if (map.containsKey("runtime_config")) {
            warningSink.accept(source + ": The configuration file contains a `runtime_config` key. This is "
                    + "ignored. Runtime configurations are only valid at runtime.");
            map.remove("runtime_config");
        }
        return accept(create(map, source), forInjection);
    }

    private static AdapterConfig create(Map<String, Object> map, String source) {
        if (!map.containsKey("peft_type")) {
            throw new PeftConfigException(source, "peft_type",
                    "missing; it names the PEFT method, and peft4j supports " + PeftType.supportedNames());
        }
        Object type = map.get("peft_type");
        if (!(type instanceof String)) {
            throw new PeftConfigException(source, "peft_type", "expected a string (one of "
                    + PeftType.supportedNames() + "), got " + JsonValues.describe(type));
        }
        PeftMethod method = PeftMethods.find((String) type);
        if (method == null) {
            throw new PeftConfigException(source, "peft_type", "value \"" + type
                    + "\" is not supported by peft4j; supported values: " + PeftType.supportedNames());
        }
        try {
            return method.parseConfig(source, map);
        } catch (PeftConfigException e) {
            // The JSON's unknown keys often explain the error (a misspelt key left its field at the default).
            java.util.Set<String> unknown = new java.util.TreeSet<>(map.keySet());
            unknown.removeAll(method.configSchema().fields().keySet());
            throw unknown.isEmpty() ? e : e.withNote("; also: " + method.configSchema().unknownKeysNote(unknown));
        }
    }

    /** Checks support, then emits the warnings found while validating. */
    static <C extends AdapterConfig> C accept(C config) {
        return accept(config, false);
    }

    /**
     * Checks support (and, {@code forInjection}, that the config can be injected into a DJL model), then emits the
     * warnings found while validating. A rejected config's unknown keys are named in the error, with their
     * did-you-mean, and its warnings are not emitted: each problem is reported once.
     */
    private static <C extends AdapterConfig> C accept(C config, boolean forInjection) {
        try {
            checkSupported(config);
            if (forInjection) {
                config.checkInjectable();
            }
        } catch (PeftConfigException e) {
            String note = config.unknownKeysNote();
            throw note.isEmpty() ? e : e.withNote("; also: " + note);
        }
        for (String warning : config.warnings) {
            warningSink.accept(warning);
        }
        return config;
    }

    /**
     * Reads a config as {@link #read(Path)} does and also checks that it can be injected into a DJL model (see
     * {@link #checkInjectable(AdapterConfig)}), as the agent and {@code inspect} do at launch: every problem PEFT
     * would raise when the config is built or injected is reported before any model is used, once.
     *
     * @throws PeftConfigException naming the file and key, with PEFT's message and the did-you-mean of unknown keys
     */
    public static AdapterConfig readForInjection(Path dirOrFile) {
        return readWith(dirOrFile, true);
    }

    /**
     * Throws when {@code config} cannot be injected into any DJL model: {@code target_modules} (or IA3's
     * {@code feedforward_modules}) is {@code null}, which PEFT only fills from a table keyed by the Transformers
     * {@code model_type}, and fails with "Please specify `target_modules` in `peft_config`" for any other model.
     *
     * @throws PeftConfigException with PEFT's message
     */
    public static void checkInjectable(AdapterConfig config) {
        config.checkInjectable();
    }

    /**
     * Throws when the config uses a PEFT feature peft4j does not implement (each config class knows its own; for
     * LoRA and AdaLoRA see {@code LoraConfig}'s class comment).
     *
     * @throws PeftConfigException naming the first unsupported field
     */
    public static void checkSupported(AdapterConfig config) {
        config.checkSupported();
    }

    /**
     * Returns the text PEFT writes for the config: {@code json.dumps(config_dict, indent=2, sort_keys=True)}, no
     * trailing newline.
     */
    public static String toJson(AdapterConfig config) {
        return PythonJsonWriter.dumps(config.toJsonMap());
    }

    /**
     * Writes {@code dir/adapter_config.json} atomically (a temporary file in {@code dir}, then a move), creating
     * {@code dir} when needed.
     *
     * @throws PeftConfigException when {@code dir} is a file or the file cannot be written
     */
    public static void write(AdapterConfig config, Path dir) {
        Path target = dir.resolve(CONFIG_NAME);
        if (Files.isRegularFile(dir)) {
            throw new PeftConfigException(target.toString(), null,
                    "Provided path (" + dir + ") should be a directory, not a file");
        }
        byte[] bytes = toJson(config).getBytes(StandardCharsets.UTF_8);
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            // Not Files.createTempFile: it creates the file with mode 600, which the move would keep. A file of our
            // own, created new, gets the permissions the user's umask gives (644 with the usual 022), as PEFT's.
            tmp = dir.resolve("." + CONFIG_NAME + "." + UUID.randomUUID() + ".tmp");
            Files.write(tmp, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw PeftConfigException.unreadable(target.toString(), "cannot write the file: " + e, e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the move succeeded or the write already failed; nothing more to report
                }
            }
        }
    }
}
