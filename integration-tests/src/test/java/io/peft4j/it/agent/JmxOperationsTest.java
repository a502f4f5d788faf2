package io.peft4j.it.agent;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import javax.management.openmbean.CompositeData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The MXBean {@code io.peft4j:type=Adapters} driven from outside, as an operator would, on an application launched
 * with {@code -javaagent} and both adapters of golden case {@code g_two_adapters}: every operation's effect is checked
 * on the application's next output against PEFT's expected outputs, the attributes against the adapter files, and
 * {@code dump} against the loaded adapter file tensor by tensor. The application runs one batch per {@code run}
 * command, so each output is known to come after the operation. The same session is then driven through the
 * {@code jmx} command line.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JmxOperationsTest {

    private static final Path CASE = Env.goldenCase("g_two_adapters");
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path work;
    private Path dumps;
    private App app;
    private Jmx jmx;

    @BeforeAll
    void start() throws IOException {
        work = Env.freshDir("agent/jmx-operations");
        dumps = work.resolve("dumps");
        Path root = Files.createDirectories(work.resolve("adapters"));
        copyTree(CASE.resolve("other"), root.resolve("other"));
        // w1's adapter b has default's config on the same base model and input: loading it as "default" hot-swaps
        copyTree(Env.goldenCase("w1_weighted_ties").resolve("b"), root.resolve("default"));
        copyTree(Env.goldenCase("w1_weighted_ties").resolve("a"), root.resolve("wa"));
        copyTree(Env.goldenCase("w1_weighted_ties").resolve("b"), root.resolve("wb"));
        app = App.of("ServeApp")
                .agent("adapter=" + CASE.resolve("default") + ",adapter.other=" + CASE.resolve("other")
                        + ",active=default,adapterRoot=" + root + ",dumpDir=" + dumps)
                .args(CASE, "--step")
                .start(work, "app");
        app.await(0, l -> l.equals("PREDICTOR t=1"), "the Predictor");
        jmx = Jmx.connect(app.pid()).awaitRegistered();
    }

    @AfterAll
    void stop() {
        if (jmx != null) {
            jmx.close();
        }
        if (app != null) {
            app.close();
        }
    }

    private static float[] expected(String name) {
        return Tensors.values(CASE.resolve("expected_output_" + name + ".safetensors"), "output");
    }

    private void assertOutput(String expectedName, String after) {
        float[] actual = app.step();
        float[] expected = expected(expectedName);
        assertTrue(Tensors.close(actual, expected, 1e-5), () -> "after " + after + " the output is not "
                + expectedName + " (max diff " + Tensors.maxAbsDiff(actual, expected) + ")\n" + app.describe());
    }

    private Map<String, CompositeData> adapters() {
        Map<String, CompositeData> byName = new LinkedHashMap<>();
        for (CompositeData row : jmx.rows("Adapters")) {
            assertEquals("Mlp#1", row.get("model"));
            byName.put((String) row.get("name"), row);
        }
        return byName;
    }

    @Test
    @Order(1)
    void theMxBeanDescribesTheInjectedModulesAndAdapters() {
        assertOutput("default", "start-up with active=default");
        Set<String> modules = new HashSet<>();
        for (CompositeData row : jmx.rows("InjectedModules")) {
            assertAll(() -> assertEquals("Mlp#1", row.get("model")),
                    () -> assertEquals("ai.djl.nn.core.Linear", row.get("blockClass")),
                    () -> assertEquals("LORA", row.get("adapterType")));
            modules.add(row.get("adapterName") + "@" + row.get("path") + " r=" + row.get("rank") + " scaling="
                    + row.get("scaling") + " params=" + row.get("trainableParameters"));
        }
        assertEquals(Set.of("default@fc1 r=4 scaling=2.0 params=192", "default@fc2 r=4 scaling=2.0 params=256",
                "other@fc2 r=2 scaling=1.0 params=128", "other@head r=2 scaling=1.0 params=72"), modules);
        Map<String, CompositeData> adapters = adapters();
        assertEquals(List.of("default", "other"), List.copyOf(adapters.keySet()));
        CompositeData def = adapters.get("default");
        CompositeData other = adapters.get("other");
        double defNorm = Tensors.l2Norm(CASE.resolve("default/adapter_model.safetensors"));
        double otherNorm = Tensors.l2Norm(CASE.resolve("other/adapter_model.safetensors"));
        assertAll(() -> assertEquals(true, def.get("active")), () -> assertEquals(false, other.get("active")),
                () -> assertEquals(true, def.get("enabled")), () -> assertEquals(false, def.get("merged")),
                () -> assertEquals("LORA", def.get("type")),
                () -> assertEquals(448L, def.get("parameterCount")),
                () -> assertEquals(200L, other.get("parameterCount")),
                () -> assertEquals(defNorm, (Double) def.get("l2Norm"), 1e-5 * defNorm),
                () -> assertEquals(otherNorm, (Double) other.get("l2Norm"), 1e-5 * otherNorm));
        String[] models = (String[]) jmx.get("Models");
        assertEquals(1, models.length);
        assertTrue(models[0].startsWith("Mlp#1 (io.peft4j.testmodels.Mlp)"), models[0]);
        assertTrue(jmx.count("InterceptedForwards") > 0);
    }

    @Test
    @Order(2)
    void disableGivesTheBaseOutputAndEnableRestoresIt() {
        jmx.invoke("disableAdapters");
        assertOutput("disabled", "disableAdapters");
        assertEquals(false, adapters().get("default").get("enabled"));
        jmx.invoke("enableAdapters");
        assertOutput("default", "enableAdapters");
    }

    @Test
    @Order(3)
    void activateSwitchesAndCombinesAdapters() {
        jmx.invoke("activate", "other");
        assertOutput("other", "activate(other)");
        jmx.invoke("activate", "default+other");
        assertOutput("both", "activate(default+other)");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> jmx.invoke("activate", "nosuch"));
        assertTrue(e.getMessage().contains("nosuch"), e.getMessage());
        assertOutput("both", "a refused activate(nosuch)");
    }

    @Test
    @Order(4)
    void mergeAndUnmerge() {
        jmx.invoke("merge");
        Map<String, CompositeData> merged = adapters();
        assertAll(() -> assertEquals(true, merged.get("default").get("merged")),
                () -> assertEquals(true, merged.get("other").get("merged")));
        assertOutput("merged_both", "merge");
        jmx.invoke("unmerge");
        assertEquals(false, adapters().get("default").get("merged"));
        assertOutput("both", "unmerge");
    }

    @Test
    @Order(5)
    void dumpWritesTheAdapterIntoDumpDirTensorByTensor() throws IOException {
        String result = jmx.invoke("dump", "default");
        Path dir = dumps.resolve("default");
        assertTrue(result.contains(dir.resolve("adapter_model.safetensors").toString()), result);
        assertTrue(result.contains(dir.resolve("adapter_config.json").toString()), result);
        Map<String, Tensors.Tensor> expected = Tensors.read(CASE.resolve("default/adapter_model.safetensors"));
        Map<String, Tensors.Tensor> actual = Tensors.read(dir.resolve("adapter_model.safetensors"));
        assertEquals(expected.keySet(), actual.keySet());
        for (String name : expected.keySet()) {
            Tensors.Tensor e = expected.get(name);
            Tensors.Tensor a = actual.get(name);
            assertAll(name, () -> assertEquals(e.dtype(), a.dtype()),
                    () -> assertArrayEquals(e.shape(), a.shape()),
                    () -> assertArrayEquals(e.raw(), a.raw(), "bytes of " + name));
        }
        ObjectNode expectedConfig = (ObjectNode) JSON.readTree(CASE.resolve("default/adapter_config.json").toFile());
        ObjectNode actualConfig = (ObjectNode) JSON.readTree(dir.resolve("adapter_config.json").toFile());
        expectedConfig.remove("inference_mode");
        actualConfig.remove("inference_mode");
        assertEquals(expectedConfig, actualConfig);
        try (Stream<Path> files = Files.list(dumps)) {
            assertEquals(List.of(dir), files.toList(), "nothing but dumpDir/default (no temporary left)");
        }
        assertUmaskPermissions(dir);
        jmx.invoke("dump", "default");
        assertArrayEquals(expected.get("fc1.lora_A.weight").raw(),
                Tensors.read(dir.resolve("adapter_model.safetensors")).get("fc1.lora_A.weight").raw(),
                "a second dump replaces the first");
    }

    /**
     * The dump, its files and directory, gets the permissions a new file or directory of the user gets (the forked
     * application inherits this JVM's umask), not the 700/600 of temporary files.
     */
    private void assertUmaskPermissions(Path dir) throws IOException {
        if (!FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            return;
        }
        Path reference = Files.createDirectories(work.resolve("umask-reference"));
        Path referenceDir = Files.createDirectory(reference.resolve("dir-" + System.nanoTime()));
        Path referenceFile = Files.createFile(reference.resolve("file-" + System.nanoTime()));
        assertAll(() -> assertEquals(permissions(referenceDir), permissions(dir), dir.toString()),
                () -> assertEquals(permissions(referenceFile), permissions(dir.resolve("adapter_config.json")),
                        "adapter_config.json"),
                () -> assertEquals(permissions(referenceFile), permissions(dir.resolve("adapter_model.safetensors")),
                        "adapter_model.safetensors"));
    }

    private static String permissions(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    @Order(6)
    void dumpAndLoadRefuseNamesThatAreNotPlainNames() {
        for (String name : List.of("../escape", "a/b", "..", "/tmp/x", ".hidden")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> jmx.invoke("dump", name),
                    name);
            assertTrue(e.getMessage().contains("not allowed"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> jmx.invoke("load", name), name);
        }
        assertFalse(Files.exists(work.resolve("escape")));
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> jmx.invoke("dump", "nosuch"));
        assertTrue(none.getMessage().contains("no model has adapter 'nosuch'"), none.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> jmx.invoke("load", "nosuch"));
        assertTrue(missing.getMessage().contains("nosuch"), missing.getMessage());
        assertOutput("both", "refused operations");
    }

    @Test
    @Order(7)
    void theJmxCommandLineListsAndChangesAdapters() {
        String pid = Long.toString(app.pid());
        AgentCli.Result list = AgentCli.run(work, "jmx", pid, "list");
        assertEquals(0, list.exitCode(), list::toString);
        assertAll(() -> assertTrue(
                        list.stdout().contains("Mlp#1 (io.peft4j.testmodels.Mlp): adapters [default, other]"),
                        list::toString),
                () -> assertTrue(list.stdout().lines().anyMatch(l -> l.matches(
                        "Mlp#1\\s+fc1\\s+ai\\.djl\\.nn\\.core\\.Linear\\s+default\\s+LORA\\s+4\\s+2\\.0\\s+192")),
                        list::toString),
                () -> assertTrue(list.stdout().lines().anyMatch(l -> l.matches(
                        "Mlp#1\\s+other\\s+LORA\\s+true\\s+true\\s+false\\s+200\\s+\\S+")), list::toString),
                () -> assertTrue(list.stdout().contains("suppressed errors: 0, transform errors: 0"),
                        list::toString));
        AgentCli.Result activate = AgentCli.run(work, "jmx", pid, "activate", "default");
        assertEquals(0, activate.exitCode(), activate::toString);
        assertTrue(activate.stdout().contains("activated default on [Mlp#1]"), activate::toString);
        assertOutput("default", "jmx activate default");
        AgentCli.Result adapters = AgentCli.run(work, "jmx", pid, "adapters");
        assertTrue(adapters.stdout().lines().anyMatch(l -> l.matches(
                "Mlp#1\\s+default\\s+LORA\\s+true\\s+true\\s+false\\s+448\\s+\\S+")), adapters::toString);
        AgentCli.Result tree = AgentCli.run(work, "jmx", pid, "tree");
        assertEquals(0, tree.exitCode(), tree::toString);
        assertEquals(String.join("\n", "model Mlp#1 (io.peft4j.testmodels.Mlp)",
                "(root)  Mlp",
                "  fc1  Linear  weight [32, 16], bias [32]  <- targeted: adapters [default]",
                "  relu1  LambdaBlock",
                "  fc2  Linear  weight [32, 32], bias [32]  <- targeted: adapters [default, other]",
                "  relu2  LambdaBlock",
                "  head  Linear  weight [4, 32], bias [4]  <- targeted: adapters [other]",
                "6 modules (5 leaves), 3 targeted", ""), tree.stdout(), tree::toString);
        AgentCli.Result noSuchModel = AgentCli.run(work, "jmx", pid, "tree", "Mlp#9");
        assertAll(() -> assertEquals(1, noSuchModel.exitCode(), noSuchModel::toString),
                () -> assertTrue(noSuchModel.stderr().contains("no model 'Mlp#9' (models: [Mlp#1])"),
                        noSuchModel::toString));
        AgentCli.Result bad = AgentCli.run(work, "jmx", pid, "dump", "../x");
        assertAll(() -> assertEquals(1, bad.exitCode(), bad::toString),
                () -> assertTrue(bad.stderr().contains("not allowed"), bad::toString));
    }

    @Test
    @Order(8)
    void combineAddsAWeightedAdapterThatIsNotActivated() {
        String pid = Long.toString(app.pid());
        // PEFT's cat of default (r=4) and other (r=2) with weights 1, 1: the sum of both deltas
        AgentCli.Result combine = AgentCli.run(work, "jmx", pid, "combine", "both", "default+other", "1,1", "cat");
        assertEquals(0, combine.exitCode(), combine::toString);
        assertTrue(combine.stdout().contains("added both (cat of default+other, weights [1.0, 1.0]) to [Mlp#1]"),
                combine::toString);
        assertOutput("default", "combine (the active adapter stays default)");
        assertEquals(6, jmx.rows("InjectedModules").stream().filter(r -> r.get("adapterName").equals("both")
                && r.get("path").equals("fc2")).mapToInt(r -> (Integer) r.get("rank")).sum(), "cat rank 4 + 2");
        jmx.invoke("activate", "both");
        assertOutput("both", "activate(both), the cat of default and other");
        AgentCli.Result bad = AgentCli.run(work, "jmx", pid, "combine", "bad", "default+other", "1,1", "ties",
                "density=0.5");
        assertAll(() -> assertEquals(1, bad.exitCode(), bad::toString),
                () -> assertTrue(bad.stderr().contains("All adapters must have the same r value"), bad::toString));
        assertFalse(adapters().containsKey("bad"), "a refused combine adds nothing");
    }

    @Test
    @Order(9)
    void loadOfAnExistingAdapterHotSwapsItsWeightsInPlace() {
        List<CompositeData> before = jmx.rows("InjectedModules");
        String loaded = jmx.invoke("load", "default");
        assertTrue(loaded.contains("(hot-swapped in place on [Mlp#1])"), loaded);
        float[] actual = app.step();
        float[] expected = Tensors.values(Env.goldenCase("w1_weighted_ties").resolve(
                "expected_output_b.safetensors"), "output");
        assertTrue(Tensors.close(actual, expected, 1e-5), () -> "after the hot swap the output is not w1's b (max "
                + "diff " + Tensors.maxAbsDiff(actual, expected) + ")\n" + app.describe());
        assertEquals(before, jmx.rows("InjectedModules"), "same modules, ranks and scalings: nothing re-injected");
        String again = jmx.invoke("load", "other");
        assertTrue(again.contains("(hot-swapped in place on [Mlp#1]); active: other"), again);
        assertOutput("other", "load(other) over the loaded other");
    }

    /** PEFT's golden add_weighted_adapter cases w1 (ties) and w5 (svd with svd_clamp), through the running agent. */
    @Test
    @Order(10)
    void combineReproducesPeftsGoldenMerges() {
        jmx.invoke("load", "wa");
        jmx.invoke("load", "wb");
        jmx.invoke("combine", "ties", "wa+wb", "0.7,0.3", "ties", "density=0.5,majority_sign_method=total");
        jmx.invoke("combine", "svd", "wa+wb", "1,1", "svd", "svd_rank=6,svd_clamp=0.9");
        for (String[] c : new String[][] {{"ties", "w1_weighted_ties"}, {"svd", "w5_weighted_svd_clamp"}}) {
            jmx.invoke("activate", c[0]);
            float[] actual = app.step();
            float[] expected = Tensors.values(Env.goldenCase(c[1]).resolve("expected_output.safetensors"), "output");
            assertTrue(Tensors.close(actual, expected, 1e-5), () -> c[1] + " through JMX combine: max diff "
                    + Tensors.maxAbsDiff(actual, expected) + "\n" + app.describe());
        }
    }

    @Test
    @Order(11)
    void removeAllThenLoadFromAdapterRoot() {
        String removed = jmx.invoke("removeAll");
        assertTrue(removed.contains("Mlp#1=[default, other, both, wa, wb, ties, svd]"), removed);
        assertOutput("disabled", "removeAll");
        assertEquals(List.of(), jmx.rows("Adapters"));
        assertEquals(List.of(), jmx.rows("InjectedModules"));
        String loaded = jmx.invoke("load", "other");
        assertTrue(loaded.contains("into [Mlp#1]"), loaded);
        assertOutput("other", "load(other) after removeAll");
        assertEquals(List.of("other"), List.copyOf(adapters().keySet()));
    }

    @Test
    @Order(12)
    void noSuppressedErrorsAndACleanStop() {
        assertAll(() -> assertEquals(0, jmx.count("SuppressedErrors"), app::describe),
                () -> assertEquals(0, jmx.count("TransformErrors"), app::describe));
        jmx.close();
        jmx = null;
        assertEquals(0, app.stop(), app::describe);
        assertFalse(app.stderr().contains("error while"), app::describe);
        assertFalse(app.stderr().contains("[peft4j] ERROR"), app::describe);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
