package io.peft4j.testmodels;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Minimal command-line parser for the test applications: positionals, {@code --name value} and flags. */
final class CliArgs {

    final List<String> positional = new ArrayList<>();
    private final Map<String, String> options = new HashMap<>();
    private final Set<String> flags = new HashSet<>();

    /**
     * Parses {@code args}.
     *
     * @param args the arguments
     * @param valueOptions options that take a value (e.g. "--model")
     * @param flagOptions options without a value (e.g. "--train-check")
     * @throws IllegalArgumentException for an unknown option or a missing value
     */
    CliArgs(String[] args, Set<String> valueOptions, Set<String> flagOptions) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (flagOptions.contains(a)) {
                flags.add(a);
            } else if (valueOptions.contains(a)) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("Missing value for " + a);
                }
                options.put(a, args[++i]);
            } else if (a.startsWith("--")) {
                throw new IllegalArgumentException("Unknown option " + a);
            } else {
                positional.add(a);
            }
        }
    }

    String get(String name, String fallback) {
        return options.getOrDefault(name, fallback);
    }

    int getInt(String name, int fallback) {
        String v = options.get(name);
        try {
            return v == null ? fallback : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " expects an integer, got '" + v + "'", e);
        }
    }

    float getFloat(String name, float fallback) {
        String v = options.get(name);
        try {
            return v == null ? fallback : Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " expects a number, got '" + v + "'", e);
        }
    }

    boolean has(String flag) {
        return flags.contains(flag);
    }
}
