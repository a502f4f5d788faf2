package io.peft4j.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Reads and writes {@code adapter_config.json} as PEFT 0.20 does.
 *
 * <p>Reading parses the JSON (as Python's {@code json.load}: NaN and Infinity allowed), picks the config class
 * from {@code peft_type}, validates as PEFT, then {@link #checkSupported(AdapterConfig) checks} that peft4j
 * implements every feature used. Unknown keys are a warning, as in PEFT. Writing produces the bytes PEFT's
 * {@code save_pretrained} writes ({@code json.dumps(d, indent=2, sort_keys=True)}, no trailing newline), so
 * {@code write(read(file))} reproduces a PEFT-written file byte for byte.
 */
public final class AdapterConfigs {

    /** The file name PEFT uses ({@code CONFIG_NAME}). */
    public static final String CONFIG_NAME = "adapter_config.json";

    /**
     * Where warnings go. Tests replace it to capture them; it will route to peft4j's logger once that exists.
     */
    static volatile Consumer<String> warningSink = message -> io.peft4j.log.PeftLog.get(AdapterConfigs.class)
            .warn("{}", message);

    /**
     * Opt-in switch for DoRA ({@code use_dora: true}): off until peft4j's adapter layers implement it; then the
     * only change needed is here.
     */
    static volatile boolean doraSupported = true;

    private AdapterConfigs() {}

    /**
     * Reads a config.
     *
     * @param dirOrFile an adapter directory (then {@code DIR/adapter_config.json} is read) or the JSON file
     * @throws PeftConfigException when the file is missing or unreadable, or the config is invalid or unsupported
     */
    public static AdapterConfig read(Path dirOrFile) {
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
        return parse(text, file.toString());
    }

    /**
     * Parses a config from JSON text.
     *
     * @param json the content of an {@code adapter_config.json}
     * @param source names the text in messages, e.g. its file path
     * @throws PeftConfigException when the JSON is malformed, or the config is invalid or unsupported
     */
    public static AdapterConfig parse(String json, String source) {
        Object root;
        try {
            root = JsonValues.parse(json);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            String detail = e instanceof JsonProcessingException
                    ? ((JsonProcessingException) e).getOriginalMessage() + locationOf((JsonProcessingException) e)
                    : e.getMessage();
            throw PeftConfigException.unreadable(source, "malformed JSON: " + detail, e);
        }
        if (!(root instanceof Map)) {
            throw new PeftConfigException(source, null,
                    "expected a JSON object, got " + JsonValues.describe(root));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> map = new LinkedHashMap<>((Map<String, Object>) root);
        if (map.containsKey("runtime_config")) {
            warningSink.accept(source + ": The configuration file contains a `runtime_config` key. This is "
                    + "ignored. Runtime configurations are only valid at runtime.");
            map.remove("runtime_config");
        }
        return accept(create(map, source));
    }

    private static String locationOf(JsonProcessingException e) {
        return e.getLocation() == null ? ""
                : String.format(Locale.ROOT, " (line %d, column %d)", e.getLocation().getLineNr(),
                        e.getLocation().getColumnNr());
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
        PeftType peftType;
        try {
            peftType = PeftType.fromJson((String) type);
        } catch (IllegalArgumentException e) {
            throw new PeftConfigException(source, "peft_type", "value \"" + type
                    + "\" is not supported by peft4j; supported values: " + PeftType.supportedNames());
        }
        switch (peftType) {
            case LORA:
                return new LoraConfig(source, map);
            case ADALORA:
                return new AdaLoraConfig(source, map);
            default:
                return new IA3Config(source, map);
        }
    }

    /** Checks support, then emits the warnings found while validating. */
    static <C extends AdapterConfig> C accept(C config) {
        checkSupported(config);
        for (String warning : config.warnings) {
            warningSink.accept(warning);
        }
        return config;
    }

    /**
     * Throws when the config uses a PEFT feature peft4j does not implement. This is the one list of such
     * features: for LoRA and AdaLoRA, {@code use_dora} (unless enabled), {@code use_qalora},
     * {@code init_lora_weights} other than true, false or "gaussian" (PiSSA, OLoRA, LoftQ, EVA, CorDA, ...),
     * {@code layer_replication}, {@code target_parameters}, {@code trainable_token_indices},
     * {@code alora_invocation_tokens}, {@code arrow_config}, {@code use_bdlora}, {@code lora_ga_config},
     * {@code monteclora_config} and {@code velora_config}. IA3 has none.
     *
     * <p>Allowed although peft4j does nothing with them, as PEFT does nothing with them for plain (non-Megatron,
     * non-quantized) models: {@code megatron_config}, {@code qalora_group_size}, and a {@code loftq_config},
     * {@code eva_config} or {@code corda_config} that PEFT ignores because {@code init_lora_weights} does not ask
     * for it (PEFT warns, and so does peft4j).
     *
     * @throws PeftConfigException naming the first unsupported field
     */
    public static void checkSupported(AdapterConfig config) {
        if (!(config instanceof LoraConfig)) {
            return;
        }
        LoraConfig lora = (LoraConfig) config;
        if (lora.useDora() && !doraSupported) {
            throw unsupported(config, "use_dora");
        }
        if (Boolean.TRUE.equals(config.jsonValue("use_qalora"))) {
            throw unsupported(config, "use_qalora");
        }
        if (lora.initLoraWeights() == null) {
            throw unsupported(config, "init_lora_weights");
        }
        for (String key : List.of("layer_replication", "trainable_token_indices", "alora_invocation_tokens",
                "arrow_config", "lora_ga_config", "monteclora_config", "velora_config")) {
            if (config.jsonValue(key) != null) {
                throw unsupported(config, key);
            }
        }
        if (AdapterConfig.truthy(config.jsonValue("target_parameters"))) {
            throw unsupported(config, "target_parameters");
        }
        Object bdlora = config.jsonValue("use_bdlora");
        if (bdlora != null && !Boolean.FALSE.equals(bdlora)) {
            throw unsupported(config, "use_bdlora");
        }
    }

    private static PeftConfigException unsupported(AdapterConfig config, String key) {
        return new PeftConfigException(config.source(), key,
                "value " + PythonJsonWriter.dumps(config.jsonValue(key)).replaceAll("\\s*\\n\\s*", " ")
                        + " is not supported by peft4j yet");
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
