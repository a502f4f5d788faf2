package io.peft4j.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The value of {@code target_modules}, {@code exclude_modules} or {@code feedforward_modules}: either a list of
 * module names (a module matches when its full name equals a name or ends with {@code "." + name}) or one regular
 * expression that must match the whole module name (Python's {@code re.fullmatch}).
 *
 * <p>The special string {@code "all-linear"} (any case) asks PEFT to target every linear layer; it must be
 * expanded against the model before matching, see {@link #isAllLinear()}.
 */
public final class TargetModules {

    /** The shorthand PEFT expands to all linear layers ({@code INCLUDE_LINEAR_LAYERS_SHORTHAND}). */
    public static final String ALL_LINEAR = "all-linear";

    private final List<String> names;
    private final String regex;

    private TargetModules(List<String> names, String regex) {
        this.names = names;
        this.regex = regex;
    }

    /** A list of module names, kept in the given order (duplicates too; matching treats them as a set). */
    public static TargetModules ofNames(List<String> names) {
        List<String> copy = new ArrayList<>(names.size());
        for (String name : names) {
            copy.add(Objects.requireNonNull(name, "module name"));
        }
        return new TargetModules(Collections.unmodifiableList(copy), null);
    }

    /** A regular expression (Python {@code re} syntax) that must match a whole module name. */
    public static TargetModules ofRegex(String regex) {
        return new TargetModules(null, Objects.requireNonNull(regex, "regex"));
    }

    /** True when this is a regular expression rather than a list of names. */
    public boolean isRegex() {
        return regex != null;
    }

    /** Returns the regular expression, or {@code null} for a list of names. */
    public String regex() {
        return regex;
    }

    /** Returns the names in config order, or an empty list for a regular expression. */
    public List<String> names() {
        return names == null ? List.of() : names;
    }

    /**
     * True for PEFT's {@code "all-linear"} shorthand (compared case-insensitively, as PEFT lower-cases it). PEFT
     * replaces it, before matching, by the set of full names of all linear layers.
     */
    public boolean isAllLinear() {
        return regex != null && regex.toLowerCase(Locale.ROOT).equals(ALL_LINEAR);
    }

    /** True for an empty list or an empty string, the values Python treats as false. */
    public boolean isEmpty() {
        return regex != null ? regex.isEmpty() : names.isEmpty();
    }

    /** Returns the JSON value: a {@code List<String>} or a {@code String}. */
    public Object toJson() {
        return regex != null ? regex : names;
    }

    /**
     * Returns the value as PEFT prints it in messages such as "Target modules X not found": PEFT turns a list
     * into a Python set, so a list prints as a set, {@code {'a', 'b'}} (here in config order, duplicates dropped;
     * {@code set()} when empty), and a regular expression prints as the raw string.
     */
    public String describe() {
        return regex != null ? regex : PythonRepr.setRepr(names);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TargetModules && Objects.equals(names, ((TargetModules) o).names)
                && Objects.equals(regex, ((TargetModules) o).regex);
    }

    @Override
    public int hashCode() {
        return Objects.hash(names, regex);
    }

    @Override
    public String toString() {
        return regex != null ? PythonRepr.stringRepr(regex) : PythonRepr.repr(names);
    }
}
