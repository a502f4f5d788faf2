package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Traced models through the agent: an ordinary application ({@code TracedApp}) loads golden cases' TorchScript traces
 * with {@code Criteria} and predicts; started with {@code -javaagent:peft4j-agent.jar=adapter={model}} (the adapter
 * files of each golden case sit next to its trace), each output must be PEFT's merged output (abs 1e-5; libtorch 2.7
 * vs the torch 1.13 that made them differ by ~1e-6), and the log must name, per model, every module PEFT adapted.
 * One JVM serves every single-adapter case; the two cases with named adapters need their own options.
 */
class TracedThroughAgentTest {

    private static final double TOLERANCE = 1e-5;
    private static final Pattern LOADED = Pattern.compile(
            "^\\[peft4j] INFO traced model \\S+ \\(\\S+\\) loaded: merging adapter '([^']+)' from (\\S+)$",
            Pattern.MULTILINE);
    private static final Pattern MERGED = Pattern.compile(
            "^\\[peft4j] INFO merged (\\w+) adapter '([^']+)' into '([^']+)'", Pattern.MULTILINE);
    private static final String MERGED_FILE = "expected_output_merged.safetensors";

    /** The single-adapter cases and the file PEFT's merged (or, for modules_to_save, adapted) output is in. */
    private static final Map<String, String> SINGLE = new LinkedHashMap<>();

    static {
        for (String c : List.of("a_lora_dummy", "b1_lora_mlp", "b2_lora_mlp_rslora", "b3_lora_mlp_bias_all",
                "b4_lora_mlp_bias_lora_only", "b5_lora_mlp_rank_alpha_pattern", "c1_lora_embedding", "c2_lora_conv2d",
                "d_ia3_mlp", "e_adalora_mlp", "f1_lora_mlp_regex")) {
            SINGLE.put(c, MERGED_FILE);
        }
        SINGLE.put("b6_lora_mlp_modules_to_save", "expected_output.safetensors");
        for (String c : List.of("h1_lora_bias", "h3_saved_pretrained_prefix", "h4_dora_mlp", "h7_adapter_named_lora",
                "h8_dora_conv2d", "h9_dora_embedding", "t1_gpt_conv1d_fan_in_fan_out", "t2_tiny_bert_qv",
                "t3a_tiny_bert_ia3", "t3b_tiny_bert_adalora")) {
            SINGLE.put(c, MERGED_FILE);
        }
    }

    private static Path dir(String name) {
        return name.length() > 1 && (name.charAt(0) == 'h' || name.charAt(0) == 't')
                && Character.isDigit(name.charAt(1))
                ? ItEnvironment.goldenEdgeCase(name) : ItEnvironment.goldenCase(name);
    }

    @Test
    void everySingleAdapterCaseIsMergedAtLoad() throws IOException {
        Path work = ItEnvironment.freshWorkDir("traced/single");
        List<Object> args = new ArrayList<>();
        for (String name : SINGLE.keySet()) {
            args.add(dir(name).resolve("base_model.torchscript.pt"));
            args.add(dir(name).resolve("input.safetensors"));
            args.add(work.resolve(name + ".safetensors"));
        }
        ForkedJvm.Result run = ItEnvironment.application("TracedApp")
                .javaagent(ItEnvironment.agentJar(), "adapter={model},jmx=false")
                .args(args.toArray())
                .run(work, "agent");
        assertEquals(0, run.exitCode(), run::describe);
        Map<Path, Set<String>> logged = mergedModulesByAdapterDir(run.output());
        List<Executable> checks = new ArrayList<>();
        checks.add(() -> AgentLog.assertNoErrors(run));
        for (Map.Entry<String, String> c : SINGLE.entrySet()) {
            Path dir = dir(c.getKey());
            Path output = work.resolve(c.getKey() + ".safetensors");
            checks.add(() -> TensorAssertions.assertClose(Safetensors.read(dir.resolve(c.getValue())).get("output"),
                    Safetensors.read(output).get("output"), TOLERANCE, c.getKey() + " merged at load vs "
                            + c.getValue()));
            Set<String> expected = adaptedModules(List.of(dir.resolve("keys.txt")));
            checks.add(() -> assertEquals(expected, logged.get(dir),
                    () -> c.getKey() + ": modules named in the agent's 'merged ... into' lines\n" + run.describe()));
        }
        assertAll("single-adapter cases", checks);
    }

    @Test
    void twoAdaptersMergeInOrder() throws IOException {
        checkNamed("g_two_adapters", "default+other", "expected_output_merged_both.safetensors");
    }

    /** h6: IA3 'other' inherits fc1/fc2's feed-forward flags from 'default', loaded first, as in PEFT. */
    @Test
    void secondIa3AdapterInheritsTheLayersFeedforwardFlags() throws IOException {
        checkNamed("h6_ia3_second_adapter_ff", "other", "expected_output_merged_other.safetensors");
    }

    /** An adapter that does not fit the trace fails the application's load (onError=fail), naming key and shapes. */
    @Test
    void anAdapterThatDoesNotFitFailsTheLoad() {
        Path work = ItEnvironment.freshWorkDir("traced/mismatch");
        Path h9 = dir("h9_dora_embedding");
        Path c1 = dir("c1_lora_embedding");
        Path output = work.resolve("never.safetensors");
        ForkedJvm.Result run = ItEnvironment.application("TracedApp")
                .javaagent(ItEnvironment.agentJar(), "adapter=" + c1 + ",jmx=false")
                .args(h9.resolve("base_model.torchscript.pt"), h9.resolve("input.safetensors"), output)
                .run(work, "agent");
        assertAll(() -> assertEquals(1, run.exitCode(), run::describe),
                () -> AgentLog.assertErrorNames(run, "cannot merge adapter 'default' from " + c1
                        + " into traced model PtSymbolBlock#1 (loaded from " + h9 + "): "),
                () -> AgentLog.assertErrorNames(run, "size mismatch for embedding.lora_embedding_A: copying a param"
                        + " with shape [4, 10] from checkpoint, the shape in current model is [4, 20]."),
                () -> assertTrue(run.stderr().contains("TracedApp: error: io.peft4j.instrument.InjectionFailure"),
                        run::describe),
                () -> assertTrue(!Files.exists(output), "the application served the model"));
    }

    private void checkNamed(String name, String active, String expectedFile) throws IOException {
        Path dir = dir(name);
        Path work = ItEnvironment.freshWorkDir("traced/" + name);
        Path output = work.resolve("output.safetensors");
        ForkedJvm.Result run = ItEnvironment.application("TracedApp")
                .javaagent(ItEnvironment.agentJar(), "adapter.default={model}/default,adapter.other={model}/other,"
                        + "active=" + active + ",jmx=false")
                .args(dir.resolve("base_model.torchscript.pt"), dir.resolve("input.safetensors"), output)
                .run(work, "agent");
        assertEquals(0, run.exitCode(), run::describe);
        assertTrue(Files.isRegularFile(output), () -> "no output written\n" + run.describe());
        List<Path> keys = new ArrayList<>();
        for (String a : active.split("\\+")) {
            keys.add(dir.resolve(a).resolve("keys.txt"));
        }
        Set<String> logged = new TreeSet<>();
        mergedModulesByAdapterDir(run.output()).values().forEach(logged::addAll);
        Set<String> expected = adaptedModules(keys);
        assertAll(name,
                () -> AgentLog.assertNoErrors(run),
                () -> TensorAssertions.assertClose(Safetensors.read(dir.resolve(expectedFile)).get("output"),
                        Safetensors.read(output).get("output"), TOLERANCE, name + " merged at load vs "
                                + expectedFile),
                () -> assertEquals(expected, logged, () -> "modules named in 'merged ... into' lines\n"
                        + run.describe()));
    }

    /** The modules of each adapter directory's "merged ... into 'X'" lines, read in log order. */
    private static Map<Path, Set<String>> mergedModulesByAdapterDir(String output) {
        Map<Path, Set<String>> out = new LinkedHashMap<>();
        Map<String, Path> dirByAdapter = new LinkedHashMap<>();
        Matcher loaded = LOADED.matcher(output);
        Matcher merged = MERGED.matcher(output);
        int at = 0;
        while (true) {
            boolean l = loaded.find(at);
            boolean m = merged.find(at);
            if (!l && !m) {
                return out;
            }
            if (l && (!m || loaded.start() < merged.start())) {
                Path dir = Path.of(loaded.group(2));
                dirByAdapter.put(loaded.group(1), dir.getFileName().toString().equals(loaded.group(1))
                        ? dir.getParent() : dir);
                at = loaded.end();
            } else {
                Path dir = dirByAdapter.get(merged.group(2));
                out.computeIfAbsent(dir, k -> new TreeSet<>()).add(merged.group(3));
                at = merged.end();
            }
        }
    }

    /** The module paths of the saved keys (keys.txt) that carry lora_/ia3_ tensors. */
    private static Set<String> adaptedModules(List<Path> keyFiles) throws IOException {
        Set<String> modules = new TreeSet<>();
        for (Path file : keyFiles) {
            for (String line : Files.readAllLines(file)) {
                String key = line.split("\t")[0].replace("base_model.model.", "");
                int at = Math.max(key.indexOf(".lora_"), key.indexOf(".ia3_"));
                if (at > 0) {
                    modules.add(key.substring(0, at));
                }
            }
        }
        return modules;
    }
}
