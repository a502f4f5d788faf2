package io.peft4j.agent.cli;

import io.peft4j.agent.config.OptionKey;

/**
 * The agent options for a terminal ({@code help options}, {@code attach --help}): every key with its default and
 * meaning, taken from {@link OptionKey} like the tables of {@code OPTIONS.md} and the README, so the three never
 * disagree.
 */
final class OptionsHelp {

    /** Where the complete options reference lies inside the agent jar. */
    static final String REFERENCE_RESOURCE = "META-INF/peft4j/OPTIONS.md";

    private static final int WIDTH = 100;
    private static final String INDENT = "      ";

    private OptionsHelp() {}

    /** Every key: a line with the key and its default, then its meaning wrapped and indented. */
    static String keys() {
        StringBuilder sb = new StringBuilder();
        for (OptionKey k : OptionKey.values()) {
            sb.append("  ").append(k.key());
            if (k.defaultValue() != null) {
                sb.append(" (default: ").append(k.defaultValue()).append(')');
            }
            sb.append('\n');
            wrap(plain(k.meaning()) + ".", sb);
        }
        return sb.toString();
    }

    /** The text of {@code help options}. */
    static String text() {
        return "Agent options: -javaagent:peft4j-agent.jar=KEY=VALUE[,KEY=VALUE...] or attach <pid> KEY=VALUE,...\n"
                + "Each key can also be set as a system property -Dpeft4j.KEY=VALUE, an environment variable\n"
                + "PEFT4J_KEY in upper snake case (onError: PEFT4J_ON_ERROR, adapter.NAME: PEFT4J_ADAPTER__NAME) or a\n"
                + "line KEY=VALUE of an options file (config=FILE), in that order of precedence.\n\n"
                + keys()
                + "\nThe complete reference (precedence, errors, JMX, security) is inside this jar:\n"
                + "  unzip -p peft4j-agent.jar " + REFERENCE_RESOURCE;
    }

    /** Markdown code spans as plain text. */
    static String plain(String markdown) {
        return markdown.replace("`", "");
    }

    private static void wrap(String text, StringBuilder sb) {
        StringBuilder line = new StringBuilder(INDENT);
        for (String word : text.split(" ")) {
            if (line.length() > INDENT.length() && line.length() + 1 + word.length() > WIDTH) {
                sb.append(line).append('\n');
                line.setLength(0);
                line.append(INDENT);
            }
            if (line.length() > INDENT.length()) {
                line.append(' ');
            }
            line.append(word);
        }
        sb.append(line).append('\n');
    }
}
