package io.peft4j.examples;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/** Parsed {@code --name value} options of one subcommand; unknown or valueless options are usage errors. */
public final class CliOptions {

    private final Map<String, String> values = new HashMap<>();

    /**
     * Parses {@code args} (after the subcommand).
     *
     * @param args the arguments, as {@code --name value} pairs
     * @param allowed the option names this subcommand accepts, with their leading dashes
     * @throws UsageException on an unknown option, a missing value or a positional argument
     */
    public CliOptions(String[] args, Set<String> allowed) {
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (!allowed.contains(name)) {
                throw new UsageException("unknown option '" + name + "' (allowed: " + allowed + ")");
            }
            if (i + 1 >= args.length) {
                throw new UsageException("option " + name + " needs a value");
            }
            values.put(name, args[++i]);
        }
    }

    /** The option's value, or {@code fallback} if it was not given. */
    public String get(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    /** The option's value; fails if it was not given. */
    public String require(String name) {
        String value = values.get(name);
        if (value == null) {
            throw new UsageException("option " + name + " is required");
        }
        return value;
    }

    /** The option as an int, or {@code fallback}. */
    public int getInt(String name, int fallback) {
        return parse(name, fallback, Integer::valueOf, "an integer");
    }

    /** The option as a float, or {@code fallback}. */
    public float getFloat(String name, float fallback) {
        return parse(name, fallback, Float::valueOf, "a number");
    }

    /** The option as a double, or {@code fallback}. */
    public double getDouble(String name, double fallback) {
        return parse(name, fallback, Double::valueOf, "a number");
    }

    private <T> T parse(String name, T fallback, Function<String, T> parser, String kind) {
        String value = values.get(name);
        try {
            return value == null ? fallback : parser.apply(value);
        } catch (NumberFormatException e) {
            throw new UsageException("option " + name + " must be " + kind + ", got '" + value + "'", e);
        }
    }
}
