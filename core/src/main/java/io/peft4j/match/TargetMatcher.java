package io.peft4j.match;

import io.peft4j.config.AdapterConfig;
import io.peft4j.config.PeftConfigException;
import io.peft4j.config.PythonRepr;
import io.peft4j.config.Suggestions;
import io.peft4j.config.TargetModules;
import java.math.BigInteger;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * PEFT 0.20's module matching ({@code peft.tuners.tuners_utils.check_target_module_exists} and
 * {@code inject_adapter}), {@code get_pattern_key} ({@code peft.utils.other}) and the errors PEFT raises when
 * nothing matches.
 *
 * <p>Keys are module names as PyTorch's {@code named_modules()} gives them ({@code "model.layers.0.fc1"}); the
 * root module's key is {@code ""}, which PEFT never adapts (callers skip it). Regular expressions are Python
 * {@code re} syntax; see {@link PythonRegex} for how they map to {@link java.util.regex}.
 */
public final class TargetMatcher {

    /** PEFT's {@code DUMMY_TARGET_MODULES}: a config that may match nothing without an error. */
    public static final String DUMMY_TARGET_MODULES = "dummy-target-modules";

    /** The layer-index regex PEFT uses when {@code layers_pattern} is null or empty. */
    private static final String DEFAULT_LAYER_INDEX = ".*?\\.[^.]*\\.(\\d+)\\.";

    private TargetMatcher() {}

    /**
     * True when PEFT would adapt module {@code key} for {@code config}: not {@linkplain #isExcluded excluded}, and
     * matched by {@link #matches}. A config whose {@code target_modules} is {@code null} targets nothing.
     *
     * @throws IllegalArgumentException when {@code target_modules} is still {@code "all-linear"} (expand it first,
     *     see {@link TargetModules#isAllLinear()})
     * @throws PeftConfigException when a regular expression in the config is invalid, naming its field
     */
    public static boolean isTargeted(AdapterConfig config, String key) {
        return classify(config, key) == MatchResult.TARGETED;
    }

    /** Classifies module {@code key} as PEFT's {@code inject_adapter} does (see {@link #isTargeted}). */
    public static MatchResult classify(AdapterConfig config, String key) {
        if (isExcluded(config, key)) {
            return MatchResult.EXCLUDED;
        }
        return matches(config.targetModules(), config.layersToTransform(), config.layersPattern(), key)
                ? MatchResult.TARGETED : MatchResult.UNMATCHED;
    }

    /**
     * True when PEFT's {@code check_target_module_exists} returns {@code _ExcludedModule} for {@code key}: it
     * matches {@code exclude_modules} (a list: equal to a name or ending with {@code "." + name}; a string: full
     * regex match; an empty list or string excludes nothing), or it is one of the {@code modules_to_save} or inside
     * one (PEFT's {@code re.match(rf"(^|.*\.){m}($|\..*)", key)}, where {@code m} is itself a regex). Excluded
     * modules are never targeted.
     */
    public static boolean isExcluded(AdapterConfig config, String key) {
        return !exclusion(config, key).isEmpty();
    }

    /** Why {@link #isExcluded} holds, for {@link #explain}, or {@code ""}. */
    private static String exclusion(AdapterConfig config, String key) {
        TargetModules exclude = config.excludeModules();
        if (exclude != null && !exclude.isEmpty()) {
            if (exclude.isRegex() ? fullMatch(exclude.regex(), key, "exclude_modules")
                    : matchesName(exclude.names(), key)) {
                return "excluded: exclude_modules";
            }
        }
        for (String m : config.modulesToSave()) {
            if (compile("(^|.*\\.)" + m + "($|\\..*)", "modules_to_save").matcher(key).lookingAt()) {
                return "excluded: modules_to_save '" + m + "'";
            }
        }
        return "";
    }

    /**
     * PEFT's matching rule without the exclusions.
     *
     * <ul>
     *   <li>{@code targets} is a regex: {@code re.fullmatch(regex, key)}; {@code layers_to_transform} is not
     *       applied (PEFT forbids it with a regex).
     *   <li>{@code key} equals one of the names: matched, and, surprisingly, {@code layers_to_transform} is not
     *       applied either (PEFT only filters in its suffix branch).
     *   <li>{@code key} ends with {@code "." + name}: matched if {@code layersToTransform} is null or empty;
     *       otherwise the layer index is read from the key and must be in {@code layersToTransform}. With
     *       {@code layersPattern} null or empty, the index is the first number in a {@code .X.N.} segment
     *       ({@code re.match(r".*?\.[^.]*\.(\d+)\.", key)}: {@code "model.layers.3.mlp.fc1"} gives 3, the first
     *       number, also in {@code "layers.1.experts.0.w1"}); otherwise the first pattern {@code p} for which
     *       {@code re.match(rf".*?\.{p}\.(\d+)\.", key)} succeeds gives it (so the pattern needs a dot before it:
     *       {@code "bar.1.baz"} never matches pattern {@code bar}). No index found: not matched. {@code "001"}
     *       is index 1.
     * </ul>
     *
     * @param targets {@code target_modules}; {@code null} matches nothing
     * @param layersToTransform layer indices, or null/empty for all layers
     * @param layersPattern names of the layer lists (regex fragments), or null/empty for PEFT's default
     * @throws IllegalArgumentException when {@code targets} is {@code "all-linear"}
     * @throws PeftConfigException when a regex is invalid, naming its field
     */
    public static boolean matches(TargetModules targets, List<Integer> layersToTransform, List<String> layersPattern,
            String key) {
        if (targets == null) {
            return false;
        }
        if (targets.isAllLinear()) {
            throw new IllegalArgumentException("target_modules '" + targets.regex() + "' must be expanded to the "
                    + "model's linear layer names before matching (see TargetModules.isAllLinear)");
        }
        if (targets.isRegex()) {
            return fullMatch(targets.regex(), key, "target_modules");
        }
        if (targets.names().contains(key)) {
            return true;
        }
        if (!matchesSuffix(targets.names(), key)) {
            return false;
        }
        if (layersToTransform == null || layersToTransform.isEmpty()) {
            return true;
        }
        BigInteger index = layerIndex(layersPattern, key);
        if (index == null) {
            return false;
        }
        for (Integer layer : layersToTransform) {
            if (BigInteger.valueOf(layer).equals(index)) {
                return true;
            }
        }
        return false;
    }

    /**
     * What {@link #classify} decides for module {@code key}, in words, for module listings: {@code "targeted:
     * target_modules 'fc1'"}, {@code "targeted: target_modules 'fc1', layer 0 in layers_to_transform"},
     * {@code "targeted: target_modules regex '.*fc1'"}, {@code "excluded: exclude_modules"}, {@code "excluded:
     * modules_to_save 'head'"}, {@code "not targeted: target_modules 'fc1' matches, but layer 3 is not in
     * layers_to_transform [0]"}, or {@code ""} when nothing matches. Starts with {@code "targeted"} exactly when
     * {@link #classify} returns {@link MatchResult#TARGETED}.
     *
     * @throws IllegalArgumentException as {@link #classify} does (and {@link PeftConfigException})
     */
    public static String explain(AdapterConfig config, String key) {
        String exclusion = exclusion(config, key);
        if (!exclusion.isEmpty()) {
            return exclusion;
        }
        TargetModules targets = config.targetModules();
        if (targets == null || !matches(targets, null, null, key)) {
            return "";
        }
        if (targets.isRegex()) {
            return "targeted: target_modules regex " + PythonRepr.stringRepr(targets.regex());
        }
        if (targets.names().contains(key)) {
            return "targeted: target_modules '" + key + "'";
        }
        String name = targets.names().stream().filter(n -> key.endsWith("." + n)).findFirst().orElseThrow();
        List<Integer> layers = config.layersToTransform();
        if (layers == null || layers.isEmpty()) {
            return "targeted: target_modules '" + name + "'";
        }
        BigInteger index = layerIndex(config.layersPattern(), key);
        if (matches(targets, layers, config.layersPattern(), key)) {
            return "targeted: target_modules '" + name + "', layer " + index + " in layers_to_transform";
        }
        return "not targeted: target_modules '" + name + "' matches, but " + (index == null
                ? "the path has no layer index" : "layer " + index + " is not in layers_to_transform " + layers);
    }

    /** Returns the layer index PEFT reads from {@code key}, or {@code null} when there is none. */
    private static BigInteger layerIndex(List<String> layersPattern, String key) {
        if (layersPattern == null || layersPattern.isEmpty()) {
            return group1(compile(DEFAULT_LAYER_INDEX, "layers_pattern").matcher(key));
        }
        for (String pattern : layersPattern) {
            BigInteger index = group1(compile(".*?\\." + pattern + "\\.(\\d+)\\.", "layers_pattern").matcher(key));
            if (index != null) {
                return index;
            }
        }
        return null;
    }

    private static BigInteger group1(Matcher m) {
        return m.lookingAt() ? new BigInteger(m.group(1)) : null;
    }

    /**
     * True when module {@code key} of an IA3 adapter is one of its {@code feedforward_modules} {@code ff} (its
     * input, not its output, is rescaled), as PEFT's {@code IA3Model._check_target_module_feedforward}: a regex must
     * match the whole key; a list entry matches any key that ends with it, without the {@code "."} boundary
     * {@code target_modules} uses ({@code "fc2"} matches {@code "xfc2"}). {@code null} matches nothing (PEFT fails on
     * it).
     */
    public static boolean isFeedforward(TargetModules ff, String key) {
        if (ff == null) {
            return false;
        }
        if (ff.isRegex()) {
            return fullMatch(ff.regex(), key, "feedforward_modules");
        }
        for (String name : ff.names()) {
            if (key.endsWith(name)) {
                return true;
            }
        }
        return false;
    }

    /**
     * PEFT 0.20's {@code get_pattern_key}: the first key {@code k} of {@code patternKeys} (in iteration order, i.e.
     * config order for {@code rank_pattern}/{@code alpha_pattern}) such that
     * {@code re.match(rf"(.*\.)?({k})$", key)} succeeds, that is, {@code key} is {@code k} or ends with
     * {@code "." + k}, where {@code k} is a regex ({@code "layers.0.fc1"} also matches
     * {@code "layers_0_fc1"}). Example: keys {@code ["fc1", "layers.0.fc1"]} and module
     * {@code "model.layers.0.fc1"} give {@code "fc1"}.
     *
     * @return the matching pattern key, or {@code null} when none matches (PEFT returns {@code key} itself, whose
     *     lookup in the pattern dict then falls back to the default {@code r} / {@code lora_alpha})
     * @throws PeftConfigException when a key is not a valid regex
     */
    public static String findPatternKey(Collection<String> patternKeys, String key) {
        for (String k : patternKeys) {
            if (compile("(.*\\.)?(" + k + ")$", "rank_pattern/alpha_pattern key").matcher(key).lookingAt()) {
                return k;
            }
        }
        return null;
    }

    /**
     * PEFT's error when no module matched and none was excluded: {@code "Target modules {'does_not_exist'} not
     * found in the base model. Please check the target modules and try again."} (a list prints as a Python set,
     * a regex raw), followed, when set, by {@code " Note: You specified 'layers_to_transform': [0]."} and
     * {@code " You also specified 'layers_pattern': layers."}.
     */
    public static String targetsNotFoundMessage(AdapterConfig config) {
        TargetModules targets = config.targetModules();
        return "Target modules " + (targets == null ? "None" : targets.describe())
                + " not found in the base model. Please check the target modules and try again."
                + layerNotes(config);
    }

    /**
     * Returns the error PEFT's {@code inject_adapter} raises when no module was targeted, chosen from what the
     * caller saw while walking the model's modules (the root module {@code ""} counts as neither):
     *
     * <ul>
     *   <li>some excluded, none unmatched: {@code "All modules were excluded. This is likely unintended. Check your
     *       `target_modules`, `exclude_modules` and `modules_to_save` configuration."}
     *   <li>none excluded, some unmatched, and {@code target_modules} null or empty (also what an
     *       {@code "all-linear"} expansion to nothing gives): {@code "No `target_modules` passed but also no
     *       `target_parameters` found. Please check the values for these arguments."}
     *   <li>none excluded, some unmatched: {@link #targetsNotFoundMessage(AdapterConfig)}
     *   <li>otherwise (both, or a model without submodules): {@code "No modules were targeted for adaptation. This
     *       might be caused by a combination of mismatched target modules and excluded modules. Please check your
     *       `target_modules` and `exclude_modules` configuration. You may also have only targeted modules that are
     *       marked to be saved (`modules_to_save`)."} plus the same layer notes.
     * </ul>
     *
     * <p>Modules filtered out by {@code layers_to_transform} are simply unmatched; PEFT has no separate message
     * for them, only the notes.
     *
     * @return the message, or {@code null} when PEFT raises nothing: {@code target_modules} is
     *     {@value #DUMMY_TARGET_MODULES}
     */
    public static String noMatchMessage(AdapterConfig config, boolean anyExcluded, boolean anyUnmatched) {
        TargetModules targets = config.targetModules();
        if (targets != null && DUMMY_TARGET_MODULES.equals(targets.regex())) {
            return null;
        }
        if (anyExcluded && !anyUnmatched) {
            return "All modules were excluded. This is likely unintended. "
                    + "Check your `target_modules`, `exclude_modules` and `modules_to_save` configuration.";
        }
        if (!anyExcluded && anyUnmatched && (targets == null || targets.isEmpty())) {
            return "No `target_modules` passed but also no `target_parameters` found. Please check the values for "
                    + "these arguments.";
        }
        if (targetsNotFound(config, anyExcluded, anyUnmatched)) {
            return targetsNotFoundMessage(config);
        }
        return "No modules were targeted for adaptation. This might be caused by a combination of mismatched "
                + "target modules and excluded modules. Please check your `target_modules` and `exclude_modules` "
                + "configuration. You may also have only targeted modules that are marked to be saved "
                + "(`modules_to_save`)." + layerNotes(config);
    }

    /** How many module paths a {@link TargetsNotFoundException} names. */
    public static final int NEAREST_PATHS = 5;

    /**
     * How to print every module path, appended to the nearest paths of a {@link TargetsNotFoundException}.
     */
    public static final String ALL_PATHS_HINT = "every path: java -jar peft4j-agent.jar tree --help, jmx <pid> tree"
            + " for a running JVM, or Peft.moduleTree(model)";

    /**
     * The error when no module was targeted, with {@link #noMatchMessage}'s text, or {@code null} when PEFT raises
     * none: a {@link TargetsNotFoundException} when {@code target_modules} matched nothing and nothing was
     * excluded, whose message goes on with the {@value #NEAREST_PATHS} paths of {@code leafPaths} nearest to the
     * targets by name ({@link Suggestions#nearest}) and how to print them all.
     *
     * @param leafPaths the paths of the model's modules that have no submodules, in model order
     */
    public static PeftConfigException noMatch(AdapterConfig config, boolean anyExcluded, boolean anyUnmatched,
            Collection<String> leafPaths) {
        String message = noMatchMessage(config, anyExcluded, anyUnmatched);
        if (message == null) {
            return null;
        }
        if (!targetsNotFound(config, anyExcluded, anyUnmatched)) {
            return new PeftConfigException(message);
        }
        TargetModules targets = config.targetModules();
        List<String> words = targets.isRegex() ? List.of(targets.regex()) : targets.names();
        List<String> nearest = Suggestions.nearest(words, leafPaths, NEAREST_PATHS);
        StringBuilder note = new StringBuilder(" The model's module paths nearest to ")
                .append(words.size() == 1 ? "it" : "them").append(": ");
        for (int i = 0; i < nearest.size(); i++) {
            note.append(i == 0 ? "" : ", ").append('\'').append(nearest.get(i)).append('\'');
        }
        note.append(" (").append(nearest.size()).append(" of ").append(leafPaths.size())
                .append(" leaf modules; ").append(ALL_PATHS_HINT).append(").");
        return new TargetsNotFoundException(message, note.toString());
    }

    private static boolean targetsNotFound(AdapterConfig config, boolean anyExcluded, boolean anyUnmatched) {
        TargetModules targets = config.targetModules();
        return !anyExcluded && anyUnmatched && targets != null && !targets.isEmpty()
                && !DUMMY_TARGET_MODULES.equals(targets.regex());
    }

    /**
     * PEFT's warning when modules were targeted but {@code exclude_modules} (non-empty) excluded none:
     * {@code "You have passed exclude_modules={'x'} but no modules were excluded. Please check that
     * exclude_modules was set correctly."}
     */
    public static String unusedExcludeModulesWarning(AdapterConfig config) {
        TargetModules exclude = config.excludeModules();
        return "You have passed exclude_modules=" + (exclude == null ? "None" : exclude.describe())
                + " but no modules were excluded. Please check that exclude_modules was set correctly.";
    }

    /** The notes PEFT appends when {@code layers_to_transform} / {@code layers_pattern} are set. */
    private static String layerNotes(AdapterConfig config) {
        StringBuilder sb = new StringBuilder();
        Object layers = config.jsonValue("layers_to_transform");
        Object pattern = config.jsonValue("layers_pattern");
        if (layers != null) {
            sb.append(" Note: You specified 'layers_to_transform': ").append(PythonRepr.str(layers)).append('.');
        }
        if (pattern != null) {
            sb.append(" You also specified 'layers_pattern': ").append(PythonRepr.str(pattern)).append('.');
        }
        return sb.toString();
    }

    private static boolean matchesName(List<String> names, String key) {
        return names.contains(key) || matchesSuffix(names, key);
    }

    private static boolean matchesSuffix(List<String> names, String key) {
        for (String name : names) {
            if (key.endsWith("." + name)) {
                return true;
            }
        }
        return false;
    }

    private static boolean fullMatch(String regex, String key, String field) {
        return compile(regex, field).matcher(key).matches();
    }

    private static Pattern compile(String pythonRegex, String field) {
        try {
            return PythonRegex.compile(pythonRegex);
        } catch (PatternSyntaxException e) {
            // a config error like any other (PEFT's re.fullmatch raises re.error when it injects)
            throw new PeftConfigException(null, field, "invalid regular expression: " + e.getDescription() + " in "
                    + PythonRepr.stringRepr(pythonRegex), e);
        }
    }
}
