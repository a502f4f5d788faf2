package io.peft4j.match;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Compiles Python {@code re} patterns (as found in {@code adapter_config.json}) into {@link Pattern}s that match
 * the same strings.
 *
 * <p>Use {@code matcher(s).matches()} for Python's {@code re.fullmatch} and {@code matcher(s).lookingAt()} for
 * {@code re.match}. Patterns are compiled with {@link Pattern#UNIX_LINES} (so {@code .} excludes only
 * {@code \n} and {@code $} also matches before a final {@code \n}, as in Python) and
 * {@link Pattern#UNICODE_CHARACTER_CLASS} (Python's {@code \d}, {@code \w}, {@code \s} and case folding are
 * Unicode-aware for text patterns).
 *
 * <p>What is translated: {@code (?P<name>...)} and {@code (?P=name)} (Python names may contain {@code _},
 * Java's may not, so groups are renamed); {@code \Z} (Java {@code \z}); {@code \U0001F600}; octal escapes
 * {@code \0}, {@code \012}; a &#123; that does not start a valid repetition is a literal in Python (escaped
 * here), and {@code {,n}} means {@code {0,n}}; inside {@code [...]}, {@code [} and {@code &&} are literals in
 * Python (escaped here) and a {@code ]} right after {@code [} or {@code [^} is a literal; {@code (?#...)}
 * comments are dropped; inline flags {@code a} and {@code u} map to turning Unicode classes off or on.
 *
 * <p>Known differences that remain: the locale flag {@code (?L)} and conditional groups {@code (?(1)a|b)} are
 * rejected; Java accepts some escapes Python rejects ({@code \p{L}}, {@code \h}, {@code \R}) and gives them
 * meaning; Python's Unicode tables may differ from the JDK's in rare code points.
 */
final class PythonRegex {

    private static final int FLAGS = Pattern.UNIX_LINES | Pattern.UNICODE_CHARACTER_CLASS;
    private static final Map<String, Pattern> CACHE = new ConcurrentHashMap<>();

    private PythonRegex() {}

    /**
     * Returns the compiled pattern (cached).
     *
     * @throws PatternSyntaxException when the pattern is invalid (or uses a construct listed as unsupported)
     */
    static Pattern compile(String pythonRegex) {
        Pattern cached = CACHE.get(pythonRegex);
        if (cached == null) {
            cached = Pattern.compile(toJava(pythonRegex), FLAGS);
            if (CACHE.size() < 10_000) {
                CACHE.put(pythonRegex, cached);
            }
        }
        return cached;
    }

    /** Python's {@code re.fullmatch(pattern, s) is not None}. */
    static boolean fullMatch(String pythonRegex, String s) {
        return compile(pythonRegex).matcher(s).matches();
    }

    /** Translates Python {@code re} syntax into {@link Pattern} syntax (see the class comment). */
    static String toJava(String py) {
        return new Translator(py).run();
    }

    /** One translation; keeps the position and the group-name mapping. */
    private static final class Translator {
        private final String py;
        private final StringBuilder out = new StringBuilder();
        private final Map<String, String> groupNames = new HashMap<>();
        private int i;

        Translator(String py) {
            this.py = py;
        }

        String run() {
            while (i < py.length()) {
                char c = py.charAt(i);
                if (c == '\\') {
                    escape(false);
                } else if (c == '[') {
                    characterClass();
                } else if (c == '(') {
                    group();
                } else if (c == '{') {
                    brace();
                } else {
                    out.append(c);
                    i++;
                }
            }
            return out.toString();
        }

        private PatternSyntaxException error(String what) {
            return new PatternSyntaxException(what, py, i);
        }

        /** Copies or translates the escape at {@code i}. */
        private void escape(boolean inClass) {
            if (i + 1 >= py.length()) {
                throw error("bad escape (end of pattern)");
            }
            char d = py.charAt(i + 1);
            if (d == 'Z' && !inClass) {
                out.append("\\z");
                i += 2;
            } else if (d == 'U') {
                String hex = i + 10 <= py.length() ? py.substring(i + 2, i + 10) : "";
                if (!hex.matches("[0-9a-fA-F]{8}")) {
                    throw error("incomplete escape \\U");
                }
                out.append("\\x{").append(hex).append('}');
                i += 10;
            } else if (d == '0') {
                int end = i + 2;
                while (end < py.length() && end < i + 4 && isOctal(py.charAt(end))) {
                    end++;
                }
                appendCodePoint(Integer.parseInt("0" + py.substring(i + 2, end), 8));
                i = end;
            } else if (d >= '1' && d <= '7' && i + 3 < py.length() && isOctal(py.charAt(i + 2))
                    && isOctal(py.charAt(i + 3))) {
                appendCodePoint(Integer.parseInt(py.substring(i + 1, i + 4), 8));
                i += 4;
            } else {
                out.append('\\').append(d);
                i += 2;
            }
        }

        private void appendCodePoint(int cp) {
            out.append(String.format("\\x{%x}", cp));
        }

        private static boolean isOctal(char c) {
            return c >= '0' && c <= '7';
        }

        /** Copies {@code [...]}, escaping what Java would read as nested classes or intersections. */
        private void characterClass() {
            out.append('[');
            i++;
            if (i < py.length() && py.charAt(i) == '^') {
                out.append('^');
                i++;
            }
            int contentStart = i;
            while (i < py.length()) {
                char c = py.charAt(i);
                if (c == '\\') {
                    escape(true);
                } else if (c == ']' && i > contentStart) {
                    out.append(']');
                    i++;
                    return;
                } else if (c == ']' || c == '[' || c == '&') {
                    out.append('\\').append(c);
                    i++;
                } else {
                    out.append(c);
                    i++;
                }
            }
            throw error("unterminated character set");
        }

        /** Translates the special group syntaxes that differ; plain groups are copied. */
        private void group() {
            if (py.startsWith("(?P<", i)) {
                int close = py.indexOf('>', i);
                if (close < 0) {
                    throw error("missing >, unterminated name");
                }
                String name = py.substring(i + 4, close);
                if (groupNames.containsKey(name)) {
                    throw error("redefinition of group name '" + name + "'");
                }
                String javaName = "pyg" + (groupNames.size() + 1) + "x" + name.replaceAll("[^A-Za-z0-9]", "");
                groupNames.put(name, javaName);
                out.append("(?<").append(javaName).append('>');
                i = close + 1;
            } else if (py.startsWith("(?P=", i)) {
                int close = py.indexOf(')', i);
                String name = close < 0 ? null : py.substring(i + 4, close);
                if (name == null || !groupNames.containsKey(name)) {
                    throw error("unknown group name '" + name + "'");
                }
                out.append("\\k<").append(groupNames.get(name)).append('>');
                i = close + 1;
            } else if (py.startsWith("(?#", i)) {
                int close = py.indexOf(')', i);
                if (close < 0) {
                    throw error("missing ), unterminated comment");
                }
                i = close + 1;
            } else if (py.startsWith("(?", i) && i + 2 < py.length()
                    && "aiLmsux-".indexOf(py.charAt(i + 2)) >= 0) {
                flags();
            } else {
                out.append('(');
                i++;
            }
        }

        /** Translates {@code (?flags)} or {@code (?flags-flags:...)}. */
        private void flags() {
            int j = i + 2;
            StringBuilder on = new StringBuilder();
            StringBuilder off = new StringBuilder();
            boolean negative = false;
            while (j < py.length() && py.charAt(j) != ')' && py.charAt(j) != ':') {
                char f = py.charAt(j);
                if (f == '-') {
                    negative = true;
                } else if (f == 'L') {
                    throw error("the locale flag (?L) is not supported");
                } else if (f == 'a') {
                    (negative ? on : off).append('U');
                } else if (f == 'u') {
                    (negative ? off : on).append('U');
                } else if ("imsx".indexOf(f) >= 0) {
                    (negative ? off : on).append(f);
                } else {
                    throw error("unknown flag");
                }
                j++;
            }
            if (j >= py.length()) {
                throw error("missing -, : or )");
            }
            boolean scoped = py.charAt(j) == ':';
            String spec = on + (off.length() > 0 ? "-" + off : "");
            if (!spec.isEmpty() || scoped) {
                out.append("(?").append(spec).append(scoped ? ":" : ")");
            }
            i = j + 1;
        }

        /** A {@code {} starts a repetition only as {@code {m}}, {@code {m,}}, {@code {,n}} or {@code {m,n}}. */
        private void brace() {
            int j = i + 1;
            StringBuilder lo = new StringBuilder();
            StringBuilder hi = new StringBuilder();
            while (j < py.length() && Character.isDigit(py.charAt(j)) && py.charAt(j) < 128) {
                lo.append(py.charAt(j++));
            }
            boolean comma = j < py.length() && py.charAt(j) == ',';
            if (comma) {
                j++;
                while (j < py.length() && Character.isDigit(py.charAt(j)) && py.charAt(j) < 128) {
                    hi.append(py.charAt(j++));
                }
            }
            boolean repetition = j < py.length() && py.charAt(j) == '}' && (lo.length() > 0 || comma);
            if (!repetition) {
                out.append("\\{");
                i++;
                return;
            }
            out.append('{').append(lo.length() > 0 ? lo : "0");
            if (comma) {
                out.append(',').append(hi);
            }
            out.append('}');
            i = j + 1;
        }
    }
}
