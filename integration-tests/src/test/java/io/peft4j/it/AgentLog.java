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

    /**
     * Any "injected" line, whatever the tuner prints after the module's shape ({@code r=4, scaling=2.0} for LoRA,
     * {@code init_r=6, ...} for AdaLoRA, {@code scales the input (feed-forward)} for IA3).
     */
    private static final Pattern INJECTED_ANY = Pattern.compile(
            "\\[peft4j] INFO injected (\\S+) adapter '([^']*)' into '([^']*)' \\((.*)\\): (.*)");

    /** An INFO line saying that adapters were merged into the base weights. */
    private static final Pattern MERGED = Pattern.compile("^\\[peft4j] INFO .*\\bmerged\\b", Pattern.MULTILINE);

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

    /**
     * One "injected" line of any tuner type.
     *
     * @param type the adapter type as printed, e.g. LORA, IA3, ADALORA
     * @param adapter the adapter name
     * @param module the PyTorch-style module path
     * @param details what the tuner printed after the module's shape
     */
    record Injected(String type, String adapter, String module, String details) {}

    /** Every "injected ... into ..." line of {@code output} of any tuner type, in order. */
    static List<Injected> injectedLines(String output) {
        List<Injected> list = new ArrayList<>();
        for (String line : output.split("\\R")) {
            Matcher m = INJECTED_ANY.matcher(line);
            if (m.find()) {
                list.add(new Injected(m.group(1), m.group(2), m.group(3), m.group(5)));
            }
        }
        return list;
    }

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
     * Asserts that a successful run logged no {@code [peft4j] ERROR} line at all (on either stream), neither a
     * configuration error nor one a hook suppressed.
     */
    static void assertNoErrors(ForkedJvm.Result run) {
        List<String> errors = new ArrayList<>(errorLines(run.stdout()));
        errors.addAll(errorLines(run.stderr()));
        if (!errors.isEmpty()) {
            throw new AssertionError("the agent logged " + errors.size() + " '[peft4j] ERROR' line(s): " + errors
                    + "\n" + run.describe());
        }
    }

    /**
     * Asserts that the agent logged merging adapters into the base weights. The output of a merged model matches
     * the unmerged one to within float rounding, so only the log shows that {@code merge=true} was applied.
     */
    static void assertMergeLogged(ForkedJvm.Result run) {
        if (!MERGED.matcher(run.output()).find()) {
            throw new AssertionError("no '[peft4j] INFO ... merged ...' line: merge=true was not applied?\n"
                    + run.describe());
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
