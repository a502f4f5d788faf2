package io.peft4j.model;

import ai.djl.nn.Block;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Renames a DJL model's module paths to the names another framework gives the same modules, so that PEFT adapters
 * trained there apply as they are: {@code target_modules}, {@code layers_to_transform}/{@code layers_pattern} and
 * state-dict keys all see the mapped names (a Hugging Face BERT adapter's {@code encoder.layer.1.attention.self.query}
 * is DJL's {@code transformer_1.selfAttention.queryProjection}). Built in: {@code bert} (DJL's {@code BertBlock} to
 * Hugging Face's {@code BertModel}); any other map is a file of rules.
 *
 * <p>Rules, one per line, {@code DJL_REGEX = REPLACEMENT} ({@code #} starts a comment): a rule applies to a path
 * when its regex matches the whole path, or its leading segments (the rest of the path is kept), after a prefix of
 * whole segments (kept too: a BertBlock inside the application's own block keeps its attribute name). The first
 * matching rule wins; a path no rule matches keeps its name.
 */
public final class NameMap {

    /** The name of the built-in BERT map. */
    public static final String BERT = "bert";

    private static final Map<Block, NameMap> BY_ROOT = Collections.synchronizedMap(new WeakHashMap<>());
    private static volatile NameMap defaultMap;

    private final String source;
    private final List<Pattern> patterns;
    private final List<String> replacements;

    private NameMap(String source, List<Pattern> patterns, List<String> replacements) {
        this.source = source;
        this.patterns = patterns;
        this.replacements = replacements;
    }

    /**
     * The map called {@code spec}: {@code bert}, or the rules in file {@code spec}.
     *
     * @throws IllegalArgumentException naming the file and line of a bad rule
     */
    public static NameMap of(String spec) {
        if (BERT.equals(spec)) {
            try (InputStream in = NameMap.class.getResourceAsStream("bert.namemap")) {
                return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "built-in name map 'bert'");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        Path file = Path.of(spec);
        try {
            return parse(Files.readString(file), file.toAbsolutePath().toString());
        } catch (IOException e) {
            throw new IllegalArgumentException("name map " + file.toAbsolutePath() + " cannot be read (nameMap is "
                    + "'bert' or a file of DJL_REGEX = NAME rules): " + e, e);
        }
    }

    /** Parses rules; {@code source} names them in errors. */
    public static NameMap parse(String text, String source) {
        List<Pattern> patterns = new ArrayList<>();
        List<String> replacements = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf(" = ");
            if (eq <= 0) {
                throw new IllegalArgumentException(source + " line " + (i + 1) + ": '" + line + "' is not a rule "
                        + "DJL_REGEX = NAME");
            }
            try {
                patterns.add(Pattern.compile("^((?:[^.]+\\.)*?)(?:" + line.substring(0, eq).strip()
                        + ")(?=\\.|$)"));
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException(source + " line " + (i + 1) + ": " + e.getDescription(), e);
            }
            replacements.add(line.substring(eq + 3).strip());
        }
        return new NameMap(source, List.copyOf(patterns), List.copyOf(replacements));
    }

    /** The mapped name of DJL path {@code path} (unchanged when no rule matches). */
    public String map(String path) {
        for (int i = 0; i < patterns.size(); i++) {
            Matcher m = patterns.get(i).matcher(path);
            if (m.find()) {
                StringBuffer sb = new StringBuffer();
                // group 1 is the kept prefix; the rule's own groups follow it
                String replacement = shiftGroups(replacements.get(i));
                m.appendReplacement(sb, Matcher.quoteReplacement(m.group(1)) + replacement);
                m.appendTail(sb);
                return sb.toString();
            }
        }
        return path;
    }

    private static String shiftGroups(String replacement) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < replacement.length(); i++) {
            char c = replacement.charAt(i);
            if (c == '$' && i + 1 < replacement.length() && Character.isDigit(replacement.charAt(i + 1))) {
                out.append("$").append(Character.getNumericValue(replacement.charAt(i + 1)) + 1);
                i++;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Where the rules came from. */
    public String source() {
        return source;
    }

    /** Uses {@code map} for the module paths of {@code root} (before adapters are injected into it). */
    public static void use(Block root, NameMap map) {
        BY_ROOT.put(root, map);
    }

    /** Uses {@code map} for every model without a map of its own ({@code null}: none); the agent's option. */
    public static void useByDefault(NameMap map) {
        defaultMap = map;
    }

    /** The map of {@code root}, or {@code null}. */
    public static NameMap forRoot(Block root) {
        NameMap map = BY_ROOT.get(root);
        return map != null ? map : defaultMap;
    }

    @Override
    public String toString() {
        return "NameMap[" + source + ", " + patterns.size() + " rules]";
    }
}
