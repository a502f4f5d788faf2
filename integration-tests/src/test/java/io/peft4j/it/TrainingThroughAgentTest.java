package io.peft4j.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Training through the agent with unmodified code: {@code TrainApp} trains an MLP with an ordinary DJL Trainer
 * ({@code EasyTrain.fit} or a hand-written trainBatch/step loop) while the agent injects a fresh LoRA adapter (a
 * directory holding only {@code adapter_config.json}). Only the adapter may learn, the loss must fall, the adapter
 * must be saved in PEFT's format when the Trainer closes, and the application's own {@code model.save} output must
 * load in a JVM without the agent.
 */
class TrainingThroughAgentTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> MODULES = List.of("fc1", "fc2");
    private static final Set<String> LORA_KEYS =
            Set.of("fc1.lora_A.weight", "fc1.lora_B.weight", "fc2.lora_A.weight", "fc2.lora_B.weight");

    @ParameterizedTest(name = "--mode {0}")
    @ValueSource(strings = {"fit", "manual"})
    void trainsOnlyTheAdapterAndSavesItInPeftFormat(String mode) throws IOException {
        Path work = ItEnvironment.freshWorkDir("train/" + mode);
        Training t = train(work, mode, "none");

        Safetensors before = Safetensors.read(t.out.resolve("params_before.safetensors"));
        Safetensors after = Safetensors.read(t.out.resolve("params_after.safetensors"));
        List<Executable> checks = new ArrayList<>(commonChecks(t, before, after));
        List<String> base = names(before, n -> !isAdapter(n));
        checks.add(() -> assertEquals(6, base.size(),
                () -> "base parameters of the MLP (fc1/fc2/head weight+bias) in params_before: " + before.names()));
        for (String name : base) {
            checks.add(() -> TensorAssertions.assertBitIdentical(before.get(name), after.get(name),
                    "base parameter " + name + " after training"));
        }
        checks.add(() -> {
            Safetensors saved = Safetensors.read(t.save.resolve("adapter_model.safetensors"));
            assertEquals(new TreeSet<>(LORA_KEYS), new TreeSet<>(saved.names()), "keys of the saved adapter");
        });

        // The application's own model.save output must stay loadable by a JVM without the agent.
        ForkedJvm.Result load = ItEnvironment.application("LoadSavedModelApp")
                .args(t.out.resolve("model"))
                .run(work, "load-without-agent");
        checks.add(() -> assertEquals(0, load.exitCode(), () -> "loading the saved model without the agent\n"
                + load.describe()));
        checks.add(() -> assertTrue(load.stdout().contains("LoadSavedModelApp: OK"), load::describe));
        assertAll("training --mode " + mode, checks);
    }

    @Test
    void biasAllTrainsEveryBiasButNoWeight() throws IOException {
        Path work = ItEnvironment.freshWorkDir("train/bias-all");
        Training t = train(work, "fit", "all");

        Safetensors before = Safetensors.read(t.out.resolve("params_before.safetensors"));
        Safetensors after = Safetensors.read(t.out.resolve("params_after.safetensors"));
        List<Executable> checks = new ArrayList<>(commonChecks(t, before, after));
        List<String> weights = names(before, n -> !isAdapter(n) && n.endsWith("weight"));
        List<String> biases = names(before, n -> !isAdapter(n) && n.endsWith("bias"));
        checks.add(() -> assertEquals(3, weights.size(), () -> "base weights in params_before: " + before.names()));
        checks.add(() -> assertEquals(3, biases.size(), () -> "base biases in params_before: " + before.names()));
        for (String name : weights) {
            checks.add(() -> TensorAssertions.assertBitIdentical(before.get(name), after.get(name),
                    "base weight " + name + " after training with bias=all"));
        }
        for (String name : biases) {
            checks.add(() -> assertTrue(TensorAssertions.differs(before.get(name), after.get(name)),
                    "bias " + name + " did not change although bias=all makes every bias trainable"));
        }
        checks.add(() -> {
            // PEFT's get_peft_model_state_dict with bias="all": the LoRA weights plus every bias of the model.
            Set<String> peftKeys = new TreeSet<>(Safetensors.read(ItEnvironment.goldenCase("b3_lora_mlp_bias_all")
                    .resolve("adapter_model.safetensors")).names());
            Safetensors saved = Safetensors.read(t.save.resolve("adapter_model.safetensors"));
            assertEquals(peftKeys, new TreeSet<>(saved.names()),
                    "keys of the saved bias=all adapter (PEFT 0.20.0 saves these for case b3_lora_mlp_bias_all)");
            for (String key : saved.names()) {
                if (key.endsWith(".bias")) {
                    String module = key.substring(0, key.indexOf('.'));
                    String djl = single(after, module, n -> !isAdapter(n) && n.endsWith("bias"));
                    TensorAssertions.assertBitIdentical(after.get(djl), saved.get(key),
                            "saved " + key + " vs trained " + djl);
                }
            }
        });
        assertAll("training with bias=all", checks);
    }

    /** Checks shared by every training run: logs, adapter parameters, loss, saved adapter files. */
    private static List<Executable> commonChecks(Training t, Safetensors before, Safetensors after) {
        List<Executable> checks = new ArrayList<>();
        ForkedJvm.Result run = t.run;
        checks.add(() -> AgentLog.assertNoSuppressedErrors(run));
        checks.add(() -> assertEquals(new TreeSet<>(MODULES),
                new TreeSet<>(AgentLog.scalingByModule(run.output(), "default").keySet()),
                () -> "modules in the agent's 'injected' lines\n" + run.describe()));
        checks.add(() -> assertEquals(new TreeSet<>(before.names()), new TreeSet<>(after.names()),
                "parameter names before/after training"));
        for (String module : MODULES) {
            checks.add(() -> {
                String loraB = single(before, module, n -> n.contains("lora_B"));
                float[] initial = before.get(loraB).floats();
                for (float v : initial) {
                    assertEquals(0f, v, "PEFT initialises lora_B to zero; " + loraB + " before training");
                }
                assertTrue(TensorAssertions.differs(before.get(loraB), after.get(loraB)),
                        loraB + " did not change during training");
            });
            for (String matrix : List.of("lora_A", "lora_B")) {
                checks.add(() -> {
                    Safetensors saved = Safetensors.read(t.save.resolve("adapter_model.safetensors"));
                    String key = module + "." + matrix + ".weight";
                    String djl = single(after, module, n -> n.contains(matrix));
                    TensorAssertions.assertBitIdentical(after.get(djl), saved.get(key),
                            "saved " + key + " vs params_after " + djl);
                });
            }
        }
        checks.add(() -> {
            List<Float> losses = Files.readAllLines(t.out.resolve("loss.txt"), StandardCharsets.UTF_8).stream()
                    .filter(l -> !l.isBlank()).map(Float::valueOf).collect(Collectors.toList());
            assertEquals(2, losses.size(), () -> "one loss per epoch in loss.txt: " + losses);
            assertTrue(losses.stream().allMatch(Float::isFinite), () -> "non-finite loss: " + losses);
            assertTrue(losses.get(losses.size() - 1) < losses.get(0), () -> "loss did not fall: " + losses);
        });
        checks.add(() -> {
            Path config = t.save.resolve("adapter_config.json");
            assertTrue(Files.isRegularFile(config), () -> config + " was not written");
            JsonNode saved = JSON.readTree(config.toFile());
            assertAll("saved " + config + ": " + saved,
                    () -> assertEquals("LORA", saved.path("peft_type").asText()),
                    () -> assertEquals(4, saved.path("r").asInt()),
                    () -> assertEquals(8.0, saved.path("lora_alpha").asDouble(), 1e-9),
                    () -> assertEquals(t.bias, saved.path("bias").asText()),
                    () -> assertEquals(new TreeSet<>(MODULES), strings(saved.path("target_modules"))));
        });
        checks.add(() -> assertTrue(Files.isRegularFile(t.save.resolve("adapter_model.safetensors")),
                () -> t.save.resolve("adapter_model.safetensors") + " was not written"));
        return checks;
    }

    /** One TrainApp run with the agent and a fresh adapter (config only, copied from b1 with {@code bias}). */
    private static Training train(Path work, String mode, String bias) throws IOException {
        Path adapterIn = Files.createDirectories(work.resolve("adapter-in"));
        ObjectNode config = (ObjectNode) JSON.readTree(
                ItEnvironment.goldenCase("b1_lora_mlp").resolve("adapter_config.json").toFile());
        config.put("bias", bias);
        JSON.writerWithDefaultPrettyPrinter().writeValue(adapterIn.resolve("adapter_config.json").toFile(), config);
        Path save = work.resolve("adapter");
        Path out = work.resolve("run");

        ForkedJvm.Result run = ItEnvironment.application("TrainApp")
                .javaagent(ItEnvironment.agentJar(), "adapter=" + adapterIn + ",save=" + save)
                .args("--out", out, "--mode", mode)
                .run(work, "train");
        assertEquals(0, run.exitCode(), run::describe);
        assertFalse(Files.exists(adapterIn.resolve("adapter_model.safetensors")),
                "the input adapter directory must stay config-only");
        return new Training(run, out, save, bias);
    }

    private static boolean isAdapter(String djlName) {
        return djlName.contains("lora_");
    }

    private static List<String> names(Safetensors file, java.util.function.Predicate<String> filter) {
        return file.names().stream().filter(filter).collect(Collectors.toList());
    }

    /** The one parameter of {@code module} (e.g. "01fc1_weight" for fc1) that satisfies {@code filter}. */
    private static String single(Safetensors file, String module, java.util.function.Predicate<String> filter) {
        Pattern token = Pattern.compile("(?<![A-Za-z])" + Pattern.quote(module) + "(?![0-9A-Za-z])");
        List<String> found = names(file, n -> token.matcher(n).find() && filter.test(n));
        if (found.size() != 1) {
            throw new AssertionError("expected exactly one matching parameter of module " + module + " in "
                    + file.file() + ", found " + found + " among " + file.names());
        }
        return found.get(0);
    }

    private static Set<String> strings(JsonNode array) {
        Set<String> set = new TreeSet<>();
        if (array.isTextual()) {
            set.add(array.asText());
        }
        array.forEach(n -> set.add(n.asText()));
        return set;
    }

    /** The outputs of one training run. */
    private record Training(ForkedJvm.Result run, Path out, Path save, String bias) {}
}
