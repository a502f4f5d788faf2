package io.peft4j.agent.config;

import java.util.Locale;

/**
 * Every agent option: its key (as written in agent arguments, in an options file and, prefixed with
 * {@code peft4j.}, as a system property), its environment variable, its default and what it means. This enum is the
 * single source of the options tables in {@code agent/OPTIONS.md} and the README (a unit test keeps them equal) and
 * of the key list of the command line's help.
 *
 * <p>Environment variable names: {@code PEFT4J_} followed by the key in upper snake case ({@code onError} becomes
 * {@code PEFT4J_ON_ERROR}); the dot of {@code adapter.NAME} becomes a double underscore and NAME keeps its case
 * ({@code PEFT4J_ADAPTER__other} is {@code adapter.other}).
 */
public enum OptionKey {

    /** The adapter directory injected into every model. */
    ADAPTER("adapter", null, Kind.PATH,
            "Adapter directory (`adapter_config.json` [+ `adapter_model.safetensors`]) injected into every model the"
                    + " application uses; without weights the adapter starts from PEFT's initialisation. In any"
                    + " adapter path, `{model}` stands for the directory a traced (TorchScript) model is loaded"
                    + " from, so each model of a service gets its own adapter"),
    /** The name of {@link #ADAPTER}. */
    NAME("name", "default", Kind.TEXT, "Name of the adapter given by `adapter`"),
    /** Further named adapters ({@code adapter.NAME=DIR}). */
    ADAPTER_NAMED("adapter.NAME", null, Kind.PATH,
            "A further adapter directory, injected as NAME (any number of them, in the order given)"),
    /** The adapters to activate. */
    ACTIVE("active", null, Kind.TEXT,
            "Adapters to activate, joined with `+` (`a+b` adds their deltas); default: the last injected, as PEFT"),
    /** Merge after injection. */
    MERGE("merge", "false", Kind.BOOLEAN,
            "`true` merges the active adapters into the base weights after injection (safe merge: NaN or Inf in the"
                    + " result changes nothing and is an error)"),
    /** Where trained adapters are saved. */
    SAVE("save", null, Kind.PATH,
            "Directory every adapter is saved to, in PEFT's layout, when a DJL `Trainer` closes (`default` in DIR"
                    + " itself, others in DIR/NAME)"),
    /** What a training step that leaves an adapter non-finite does. */
    ON_NON_FINITE("onNonFinite", "fail", Kind.CHOICE,
            "A DJL `Trainer.step()` that leaves an adapter parameter NaN or infinite: `fail` (the step throws"
                    + " `NonFiniteAdapterException` naming module, parameter and step) or `revert` (the step is undone"
                    + " and logged; training stops after 3 such steps in a row)"),
    /** Whether the agent is on. */
    ENABLED("enabled", "true", Kind.BOOLEAN, "`false` turns the agent off (nothing is instrumented)"),
    /** What a configuration error does. */
    ON_ERROR("onError", "fail", Kind.CHOICE,
            "`fail`: a configuration error stops the application (exit status 78 at launch, or an"
                    + " `InjectionFailure` from `newTrainer`/`newPredictor`/`forward` when the targets match nothing)"
                    + " rather than serve an unadapted model; `warn`: log it and run without the adapter"),
    /** The options file. */
    CONFIG("config", null, Kind.PATH,
            "Options file (Java properties with these keys); lowest precedence before the defaults;"
                    + " relative paths in it are resolved against its directory"),
    /** Where JMX {@code load} finds adapters. */
    ADAPTER_ROOT("adapterRoot", null, Kind.PATH,
            "Directory in which the JMX operation `load(NAME)` finds adapter NAME (`adapterRoot/NAME`); unset: `load`"
                    + " is refused"),
    /** Which adapters under {@link #ADAPTER_ROOT} to load at start-up. */
    PRELOAD("preload", null, Kind.TEXT,
            "`all`: every adapter directory under `adapterRoot` is injected at start-up (named after its directory);"
                    + " or names joined with `+`; the active adapter stays `active` (default: the last injected)"),
    /** The {@code Input} property naming a request's adapter. */
    REQUEST_ADAPTER_PROPERTY("requestAdapterProperty", "adapter", Kind.TEXT,
            "Property of DJL's `Input` naming the adapter of a request: `Predictor.predict` runs that adapter,"
                    + " `batchPredict` over inputs naming different adapters runs one mixed batch; empty: off"),
    /** What a request naming an unknown adapter does. */
    UNKNOWN_ADAPTER("unknownAdapter", "fail", Kind.CHOICE,
            "A request naming an adapter the model does not have: `fail` (the call throws, naming the adapter) or"
                    + " `base` (it runs on the base model and is counted in JMX `UnknownAdapterRequests`)"),
    /** Where JMX {@code dump} writes. */
    DUMP_DIR("dumpDir", null, Kind.PATH,
            "Directory into which the JMX operation `dump(NAME)` writes `dumpDir/NAME`; unset: `dump` is refused"),
    /** Module names as another framework gives them. */
    NAME_MAP("nameMap", null, Kind.TEXT,
            "Module names adapters are matched and keyed by: `bert` maps DJL's `BertBlock` paths to"
                    + " Hugging Face BERT's (`transformer_1.selfAttention.queryProjection` is"
                    + " `encoder.layer.1.attention.self.query`);"
                    + " or a file of `DJL_REGEX = NAME` rules; unset: DJL's paths"),
    /** Whether to register the MXBean. */
    JMX("jmx", "true", Kind.BOOLEAN,
            "Register the MXBean `io.peft4j:type=Adapters` (on a thread of its own once the application's first"
                    + " forward pass has returned, or 2 s after its first use of a model without one; at once when"
                    + " attached). No port is opened"),
    /** How the oneMKL inside libtorch chooses its code paths. */
    MKL_CODE_PATHS("mklCodePaths", "vendor", Kind.CHOICE,
            "`features`: the oneMKL inside libtorch chooses its kernels by the CPU's features on CPUs that are not"
                    + " Intel's too (on AMD EPYC its SGEMMs ran 1.5-4x faster: BENCHMARKS.md); Linux x86-64, at launch"
                    + " only (before libtorch loads); needs JNA, which DJL brings. `vendor`: oneMKL's own choice (its"
                    + " generic code path on such CPUs)"),
    /** Debug logging. */
    DEBUG("debug", "false", Kind.BOOLEAN,
            "`true` also prints peft4j's DEBUG messages (start-up phases, instrumented classes, the module tree of"
                    + " each model: its paths, block classes and parameter shapes) and the stack trace of an"
                    + " `InjectionFailure`");

    /** What values a key takes. */
    public enum Kind {
        /** A file or directory; relative paths of an options file are resolved against the file's directory. */
        PATH,
        /** {@code true} or {@code false}. */
        BOOLEAN,
        /** One of fixed words. */
        CHOICE,
        /** Free text. */
        TEXT
    }

    /** Prefix of the system properties ({@code peft4j.onError}). */
    public static final String PROPERTY_PREFIX = "peft4j.";
    /** Prefix of the environment variables ({@code PEFT4J_ON_ERROR}). */
    public static final String ENV_PREFIX = "PEFT4J_";
    /** Environment prefix of {@code adapter.NAME}. */
    public static final String ENV_NAMED_ADAPTER_PREFIX = "PEFT4J_ADAPTER__";
    /** Key prefix of {@code adapter.NAME}. */
    public static final String NAMED_ADAPTER_PREFIX = "adapter.";
    /** In an adapter path: the directory the traced model being adapted was loaded from. */
    public static final String MODEL_DIR = "{model}";

    private final String key;
    private final String defaultValue;
    private final Kind kind;
    private final String meaning;

    OptionKey(String key, String defaultValue, Kind kind, String meaning) {
        this.key = key;
        this.defaultValue = defaultValue;
        this.kind = kind;
        this.meaning = meaning;
    }

    /** The key as written in agent arguments, e.g. {@code onError}. */
    public String key() {
        return key;
    }

    /** The default value, or {@code null} when unset by default. */
    public String defaultValue() {
        return defaultValue;
    }

    /** What values the key takes. */
    public Kind kind() {
        return kind;
    }

    /** One sentence for the options table. */
    public String meaning() {
        return meaning;
    }

    /** The system property, e.g. {@code peft4j.onError}. */
    public String property() {
        return PROPERTY_PREFIX + key;
    }

    /** The environment variable, e.g. {@code PEFT4J_ON_ERROR} ({@code PEFT4J_ADAPTER__NAME} for adapter.NAME). */
    public String envVar() {
        if (this == ADAPTER_NAMED) {
            return ENV_NAMED_ADAPTER_PREFIX + "NAME";
        }
        return ENV_PREFIX + upperSnake(key);
    }

    /** {@code onError} → {@code ON_ERROR}. */
    static String upperSnake(String camel) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < camel.length(); i++) {
            char c = camel.charAt(i);
            if (Character.isUpperCase(c) && i > 0) {
                sb.append('_');
            }
            sb.append(c == '.' ? '_' : Character.toUpperCase(c));
        }
        return sb.toString().toUpperCase(Locale.ROOT);
    }

    /** The option of a plain key (not {@code adapter.NAME}), or {@code null}. */
    public static OptionKey of(String key) {
        for (OptionKey k : values()) {
            if (k != ADAPTER_NAMED && k.key.equals(key)) {
                return k;
            }
        }
        if (key.startsWith(NAMED_ADAPTER_PREFIX) && key.length() > NAMED_ADAPTER_PREFIX.length()) {
            return ADAPTER_NAMED;
        }
        return null;
    }

    /** The key of environment variable {@code name} ({@code PEFT4J_...}), or {@code null} if none maps to it. */
    public static String keyOfEnvVar(String name) {
        if (name.startsWith(ENV_NAMED_ADAPTER_PREFIX) && name.length() > ENV_NAMED_ADAPTER_PREFIX.length()) {
            return NAMED_ADAPTER_PREFIX + name.substring(ENV_NAMED_ADAPTER_PREFIX.length());
        }
        for (OptionKey k : values()) {
            if (k != ADAPTER_NAMED && k.envVar().equals(name)) {
                return k.key;
            }
        }
        return null;
    }

    /**
     * The options table as Markdown ({@code agent/OPTIONS.md} embeds it verbatim; a test checks that): key, system
     * property, environment variable, default and meaning.
     */
    public static String markdownTable() {
        StringBuilder sb = new StringBuilder();
        sb.append("| key | system property | environment variable | default | meaning |\n");
        sb.append("|---|---|---|---|---|\n");
        for (OptionKey k : values()) {
            sb.append("| `").append(k.key).append("` | `").append(k.property()).append("` | `").append(k.envVar())
                    .append("` | ").append(k.defaultValue == null ? "(none)" : "`" + k.defaultValue + "`")
                    .append(" | ").append(k.meaning).append(" |\n");
        }
        return sb.toString();
    }

    /** The keys, for messages: {@code [adapter, name, adapter.NAME, ...]}. */
    public static String knownKeys() {
        StringBuilder sb = new StringBuilder("[");
        for (OptionKey k : values()) {
            sb.append(sb.length() > 1 ? ", " : "").append(k.key);
        }
        return sb.append(']').toString();
    }
}
