package io.peft4j.match;

/**
 * How PEFT's {@code inject_adapter} classifies one module of the model for one adapter config.
 *
 * <p>The counts of {@link #EXCLUDED} and {@link #UNMATCHED} modules decide which error PEFT raises when no module
 * is {@link #TARGETED}; see {@link TargetMatcher#noMatchMessage(io.peft4j.config.AdapterConfig, boolean, boolean)}.
 */
public enum MatchResult {
    /** The adapter is injected into this module. */
    TARGETED,
    /**
     * Excluded: matched by {@code exclude_modules}, or one of (or inside one of) the {@code modules_to_save}
     * (PEFT's {@code _ExcludedModule}). PEFT also counts modules inside an existing adapter layer as excluded.
     */
    EXCLUDED,
    /** Not matched by {@code target_modules} (including modules filtered out by {@code layers_to_transform}). */
    UNMATCHED
}
