package io.peft4j.it;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what the agent logged to a forked application's output (the {@code [peft4j] LEVEL message} lines it prints
 * when the application has no SLF4J provider): which modules it injected with which scaling, its error lines, and
 * the errors its hooks suppressed.
 */
final class AgentLog {

    /** {@code [peft4j] INFO injected LORA adapter 'default' into 'fc1' (Linear (32, 16)): r=4, scaling=2.0, ...}. */
    private static final Pattern INJECTED = Pattern.compile(
            "\\[peft4j] INFO injected (\\S+) adapter '([^']*)' into '([^']*)' \\(.*\\): r=(\\d+), scaling=([^,\\s]+)");

    /** The line a hook writes when it swallowed a throwable so that the application kept running. */
    static final String SUPPRESSED_ERROR = "[peft4j] ERROR error while";

    private AgentLog() {}

    /**
     * One "injected" line.
     *
     * @param type the adapter type, e.g. LORA
     * @param adapter the adapter name
     * @param module the PyTorch-style module path
     * @param rank the rank
     * @param scaling the scaling as printed
     */
    record Injection(String type, String adapter, String module, int rank, String scaling) {}

    /** Every "injected ... into ..." line of {@code output}, in order. */
    static List<Injection> injections(String output) {
        List<Injection> list = new ArrayList<>();
        Matcher m = INJECTED.matcher(output);
        while (m.find()) {
            list.add(new Injection(m.group(1), m.group(2), m.group(3), Integer.parseInt(m.group(4)), m.group(5)));
        }
        return list;
    }

    /** Module path to printed scaling, for one adapter name. */
    static Map<String, String> scalingByModule(String output, String adapter) {
        Map<String, String> map = new LinkedHashMap<>();
        for (Injection i : injections(output)) {
            if (i.adapter().equals(adapter)) {
                map.put(i.module(), i.scaling());
            }
        }
        return map;
    }

    /** The {@code [peft4j] ERROR} lines of {@code output}. */
    static List<String> errorLines(String output) {
        List<String> lines = new ArrayList<>();
        for (String line : output.split("\\R")) {
            if (line.startsWith("[peft4j] ERROR")) {
                lines.add(line);
            }
        }
        return lines;
    }

    /** Asserts that no hook suppressed an error during a run. */
    static void assertNoSuppressedErrors(ForkedJvm.Result run) {
        if (run.output().contains(SUPPRESSED_ERROR)) {
            throw new AssertionError("the agent suppressed an error in its hooks ('" + SUPPRESSED_ERROR
                    + "' in the output)\n" + run.describe());
        }
    }

    /**
     * Asserts that some {@code [peft4j] ERROR} line contains {@code text}.
     *
     * @param run the run
     * @param text what the error must name
     */
    static void assertErrorNames(ForkedJvm.Result run, String text) {
        for (String line : errorLines(run.stderr())) {
            if (line.contains(text)) {
                return;
            }
        }
        throw new AssertionError("no '[peft4j] ERROR' line on stderr names '" + text + "'; error lines: "
                + errorLines(run.stderr()) + "\n" + run.describe());
    }
}
