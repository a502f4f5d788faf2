package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * AdaLoRA training through the agent with unmodified code: {@code TrainApp --mode manual} trains an MLP while the
 * agent injects a fresh AdaLoRA adapter (a directory holding only {@code adapter_config.json}) and runs PEFT's rank
 * allocation after every {@code Trainer.step()}. The adapter saved when the Trainer closes must be in PEFT's layout
 * after allocation: {@code rank_pattern} in the config, factors cut to the kept ranks
 * ({@code resize_state_dict_by_rank_pattern}). A fresh JVM must then load it (re-creating the modules at the kept
 * ranks, {@code ranknum} staying {@code init_r}) and reproduce the output this test computes from the saved tensors.
 */
class AdaLoraTrainingThroughAgentTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> MODULES = List.of("fc1", "fc2");
    private static final int IN = 16;
    private static final int HIDDEN = 32;
    private static final int INIT_R = 6;
    private static final int TARGET_R = 2;
    private static final int SAMPLES = 128;
    private static final int BATCH = 16;
    private static final int EPOCHS = 3;
    /** TrainApp makes samples / batch optimizer steps per epoch. */
    private static final int TOTAL_STEP = SAMPLES / BATCH * EPOCHS;

    @Test
    void rankAllocationDuringTrainingIsSavedInPeftLayoutAndReloads() throws IOException {
        Path work = ItEnvironment.freshWorkDir("train-adalora");
        Path adapterIn = Files.createDirectories(work.resolve("adapter-in"));
        ObjectNode config = (ObjectNode) JSON.readTree(
                ItEnvironment.goldenCase("e_adalora_mlp").resolve("adapter_config.json").toFile());
        config.put("init_r", INIT_R);
        config.put("target_r", TARGET_R);
        config.put("tinit", 2);
        config.put("tfinal", 2);
        config.put("total_step", TOTAL_STEP);
        config.put("deltaT", 1);
        JSON.writerWithDefaultPrettyPrinter().writeValue(adapterIn.resolve("adapter_config.json").toFile(), config);
        double loraAlpha = config.path("lora_alpha").asDouble();
        Path save = work.resolve("adapter");
        Path out = work.resolve("run");

        ForkedJvm.Result train = ItEnvironment.application("TrainApp")
                .javaagent(ItEnvironment.agentJar(), "adapter=" + adapterIn + ",save=" + save)
                .args("--out", out, "--mode", "manual", "--epochs", EPOCHS, "--samples", SAMPLES, "--batch", BATCH)
                .run(work, "train");
        assertEquals(0, train.exitCode(), train::describe);
        assertFalse(Files.exists(adapterIn.resolve("adapter_model.safetensors")),
                "the input adapter directory must stay config-only");
        Path savedConfig = save.resolve("adapter_config.json");
        Path savedModel = save.resolve("adapter_model.safetensors");
        assertTrue(Files.isRegularFile(savedConfig), () -> savedConfig + " was not written\n" + train.describe());
        assertTrue(Files.isRegularFile(savedModel), () -> savedModel + " was not written\n" + train.describe());

        Safetensors before = Safetensors.read(out.resolve("params_before.safetensors"));
        Safetensors after = Safetensors.read(out.resolve("params_after.safetensors"));
        Safetensors saved = Safetensors.read(savedModel);
        JsonNode savedJson = JSON.readTree(savedConfig.toFile());
        JsonNode pattern = savedJson.path("rank_pattern");

        List<Executable> checks = new ArrayList<>();
        checks.add(() -> AgentLog.assertNoErrors(train));
        checks.add(() -> {
            TreeSet<String> modules = new TreeSet<>();
            for (AgentLog.Injected line : AgentLog.injectedLines(train.output())) {
                assertEquals("ADALORA", line.type(), () -> "adapter type in " + line + "\n" + train.describe());
                modules.add(line.module());
            }
            assertEquals(new TreeSet<>(MODULES), modules, () -> "modules in the 'injected' lines\n" + train.describe());
        });

        // Only the adapter learns.
        List<String> base = before.names().stream().filter(n -> !isAdapter(n)).collect(Collectors.toList());
        checks.add(() -> assertEquals(6, base.size(),
                () -> "base parameters of the MLP (fc1/fc2/head weight+bias) in params_before: " + before.names()));
        checks.add(() -> assertEquals(new TreeSet<>(before.names()), new TreeSet<>(after.names()),
                "parameter names before/after training"));
        for (String name : base) {
            checks.add(() -> TensorAssertions.assertBitIdentical(before.get(name), after.get(name),
                    "base parameter " + name + " after AdaLoRA training"));
        }
        checks.add(() -> {
            List<Float> losses = Files.readAllLines(out.resolve("loss.txt"), StandardCharsets.UTF_8).stream()
                    .filter(l -> !l.isBlank()).map(Float::valueOf).collect(Collectors.toList());
            assertEquals(EPOCHS, losses.size(), () -> "one loss per epoch in loss.txt: " + losses);
            assertTrue(losses.stream().allMatch(Float::isFinite), () -> "non-finite loss: " + losses);
            assertTrue(losses.get(losses.size() - 1) < losses.get(0), () -> "loss did not fall: " + losses);
        });

        // The saved config: PEFT's rank_pattern after the final allocation.
        checks.add(() -> assertAll("saved " + savedConfig + ": " + savedJson,
                () -> assertEquals("ADALORA", savedJson.path("peft_type").asText()),
                () -> assertEquals(INIT_R, savedJson.path("init_r").asInt()),
                () -> assertEquals(TARGET_R, savedJson.path("target_r").asInt()),
                () -> assertEquals(TOTAL_STEP, savedJson.path("total_step").asInt()),
                () -> assertTrue(pattern.isObject(), "rank_pattern is not an object"),
                () -> assertEquals(new TreeSet<>(List.of("fc1.lora_E", "fc2.lora_E")), fieldNames(pattern),
                        "rank_pattern keys")));
        Map<String, boolean[]> keep = new LinkedHashMap<>();
        for (String module : MODULES) {
            JsonNode mask = pattern.path(module + ".lora_E");
            boolean[] flags = new boolean[mask.size()];
            boolean booleans = mask.isArray();
            for (int i = 0; i < flags.length; i++) {
                booleans &= mask.get(i).isBoolean();
                flags[i] = mask.get(i).asBoolean();
            }
            boolean allBooleans = booleans;
            checks.add(() -> assertTrue(allBooleans && flags.length == INIT_R,
                    () -> "rank_pattern[" + module + ".lora_E] must be a list of " + INIT_R + " booleans: " + mask));
            keep.put(module, flags);
        }
        int keptTotal = keep.values().stream().mapToInt(AdaLoraTrainingThroughAgentTest::count).sum();
        checks.add(() -> assertEquals(TARGET_R * MODULES.size(), keptTotal,
                () -> "ranks kept over both modules (target_r " + TARGET_R + " per module on average): " + pattern));

        // The saved tensors: cut to the kept ranks, equal to the trained factors' kept rows/columns.
        checks.add(() -> assertEquals(
                new TreeSet<>(Safetensors.read(ItEnvironment.goldenCase("e_adalora_mlp")
                        .resolve("adapter_model.safetensors")).names()),
                new TreeSet<>(saved.names()), "keys of the saved AdaLoRA adapter (as PEFT 0.20.0 saves them)"));
        for (String module : MODULES) {
            boolean[] flags = keep.get(module);
            int k = count(flags);
            int in = module.equals("fc1") ? IN : HIDDEN;
            checks.add(() -> assertAll("saved " + module + " (" + k + " kept ranks)",
                    () -> assertArrayEquals(new long[] {k, in}, saved.get(module + ".lora_A").shape(), "lora_A shape"),
                    () -> assertArrayEquals(new long[] {k, 1}, saved.get(module + ".lora_E").shape(), "lora_E shape"),
                    () -> assertArrayEquals(new long[] {HIDDEN, k}, saved.get(module + ".lora_B").shape(),
                            "lora_B shape")));
            checks.add(() -> {
                float[] a = after.get(single(after, module, "lora_A")).floats();
                float[] e = after.get(single(after, module, "lora_E")).floats();
                float[] b = after.get(single(after, module, "lora_B")).floats();
                assertEquals(INIT_R * in, a.length, module + " lora_A in params_after");
                assertArrayEquals(keptRows(a, flags, in), saved.get(module + ".lora_A").floats(),
                        "saved " + module + ".lora_A vs the kept rows of the trained lora_A");
                assertArrayEquals(keptRows(e, flags, 1), saved.get(module + ".lora_E").floats(),
                        "saved " + module + ".lora_E vs the kept entries of the trained lora_E");
                assertArrayEquals(keptColumns(b, flags, HIDDEN), saved.get(module + ".lora_B").floats(),
                        "saved " + module + ".lora_B vs the kept columns of the trained lora_B");
                for (int i = 0; i < flags.length; i++) {
                    if (!flags[i]) {
                        int rank = i;
                        assertTrue(e[i] == 0f, () -> module + " lora_E[" + rank + "] of a dropped rank after"
                                + " training is " + e[rank] + " (PEFT masks it to zero after the final allocation)");
                    }
                }
            });
        }

        // A fresh JVM loads the saved adapter onto golden e's base model.
        Path caseDir = ItEnvironment.goldenCase("e_adalora_mlp");
        Path output = work.resolve("reload-output.safetensors");
        ForkedJvm.Result reload = ItEnvironment.application("GoldenApp")
                .javaagent(ItEnvironment.agentJar(), "adapter=" + save)
                .args(caseDir, output)
                .run(work, "reload");
        checks.add(() -> {
            assertEquals(0, reload.exitCode(), () -> "GoldenApp with the trained adapter\n" + reload.describe());
            AgentLog.assertNoErrors(reload);
        });
        checks.add(() -> {
            TreeSet<String> modules = new TreeSet<>();
            for (AgentLog.Injected line : AgentLog.injectedLines(reload.output())) {
                assertEquals("ADALORA", line.type(), () -> "adapter type in " + line);
                modules.add(line.module());
            }
            assertEquals(new TreeSet<>(MODULES), modules,
                    () -> "modules in the 'injected' lines of the reload\n" + reload.describe());
        });
        checks.add(() -> TensorAssertions.assertClose(expectedReloadOutput(caseDir, saved, loraAlpha),
                Safetensors.read(output).get("output"), 1e-5,
                "GoldenApp output with the trained adapter vs the MLP computed from the saved tensors"
                        + " (delta = B (A*E) * lora_alpha / (init_r + 1e-5))"));
        assertAll("AdaLoRA training and reloading", checks);
    }

    /**
     * PEFT's output of the golden MLP with the saved adapter, in double precision: per adapted Linear
     * {@code x W^T + b + (x (A*E)^T B^T) * lora_alpha / (ranknum + 1e-5)}, ranknum = init_r (PEFT's
     * {@code resize_modules_by_rank_pattern} keeps it: "the scaling is exactly as the previous").
     */
    private static Safetensors.Tensor expectedReloadOutput(Path caseDir, Safetensors adapter, double loraAlpha)
            throws IOException {
        Safetensors baseModel = Safetensors.read(caseDir.resolve("base_model.safetensors"));
        Safetensors.Tensor input = Safetensors.read(caseDir.resolve("input.safetensors")).get("input");
        int rows = (int) input.shape()[0];
        double[][] x = matrix(input.floats(), rows, (int) input.shape()[1]);
        double factor = loraAlpha / (INIT_R + 1e-5);
        for (String module : List.of("fc1", "fc2", "head")) {
            Safetensors.Tensor w = baseModel.get(module + ".weight");
            int outF = (int) w.shape()[0];
            int inF = (int) w.shape()[1];
            double[][] weight = matrix(w.floats(), outF, inF);
            float[] bias = baseModel.get(module + ".bias").floats();
            if (MODULES.contains(module)) {
                Safetensors.Tensor aT = adapter.get(module + ".lora_A");
                int r = (int) aT.shape()[0];
                double[][] a = matrix(aT.floats(), r, inF);
                float[] e = adapter.get(module + ".lora_E").floats();
                double[][] b = matrix(adapter.get(module + ".lora_B").floats(), outF, r);
                for (int o = 0; o < outF; o++) {
                    for (int i = 0; i < inF; i++) {
                        double d = 0;
                        for (int j = 0; j < r; j++) {
                            d += b[o][j] * a[j][i] * e[j];
                        }
                        weight[o][i] += d * factor;
                    }
                }
            }
            double[][] y = new double[rows][outF];
            for (int s = 0; s < rows; s++) {
                for (int o = 0; o < outF; o++) {
                    double acc = bias[o];
                    for (int i = 0; i < inF; i++) {
                        acc += x[s][i] * weight[o][i];
                    }
                    y[s][o] = module.equals("head") ? acc : Math.max(0, acc);
                }
            }
            x = y;
        }
        float[] flat = new float[x.length * x[0].length];
        for (int s = 0; s < x.length; s++) {
            for (int o = 0; o < x[s].length; o++) {
                flat[s * x[s].length + o] = (float) x[s][o];
            }
        }
        ByteBuffer raw = ByteBuffer.allocate(flat.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(flat);
        return new Safetensors.Tensor("output", "F32", new long[] {x.length, x[0].length}, raw.array());
    }

    private static double[][] matrix(float[] values, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                m[r][c] = values[r * cols + c];
            }
        }
        return m;
    }

    /** The rows {@code i} of a row-major {@code [flags.length, cols]} matrix whose flag is set. */
    private static float[] keptRows(float[] values, boolean[] flags, int cols) {
        float[] out = new float[count(flags) * cols];
        int n = 0;
        for (int i = 0; i < flags.length; i++) {
            if (flags[i]) {
                System.arraycopy(values, i * cols, out, n * cols, cols);
                n++;
            }
        }
        return out;
    }

    /** The columns {@code j} of a row-major {@code [rows, flags.length]} matrix whose flag is set. */
    private static float[] keptColumns(float[] values, boolean[] flags, int rows) {
        int k = count(flags);
        float[] out = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            int n = 0;
            for (int j = 0; j < flags.length; j++) {
                if (flags[j]) {
                    out[r * k + n++] = values[r * flags.length + j];
                }
            }
        }
        return out;
    }

    private static int count(boolean[] flags) {
        int n = 0;
        for (boolean f : flags) {
            n += f ? 1 : 0;
        }
        return n;
    }

    private static boolean isAdapter(String djlName) {
        return djlName.contains("lora_") || djlName.contains("ranknum");
    }

    private static Set<String> fieldNames(JsonNode object) {
        Set<String> names = new TreeSet<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** The one parameter of {@code module} (e.g. "01fc1_lora_A...") whose DJL name contains {@code factor}. */
    private static String single(Safetensors file, String module, String factor) {
        Pattern token = Pattern.compile("(?<![A-Za-z])" + Pattern.quote(module) + "(?![0-9A-Za-z])");
        List<String> found = file.names().stream().filter(n -> token.matcher(n).find() && n.contains(factor))
                .collect(Collectors.toList());
        if (found.size() != 1) {
            throw new AssertionError("expected exactly one " + factor + " parameter of module " + module + " in "
                    + file.file() + ", found " + found + " among " + file.names());
        }
        return found.get(0);
    }
}
