package io.peft4j.agent.cli;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.agent.config.OptionKey;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line in process: exit statuses, usage texts, and {@code inspect} through peft4j's own readers. */
class CliTest {

    private static final Path GOLDEN = Path.of("../core/src/test/resources/golden").toAbsolutePath().normalize();

    private record Run(int status, String out, String err) {}

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Cli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void exitStatuses() {
        assertAll(() -> assertEquals(2, run().status()), () -> assertEquals(0, run("--help").status()),
                () -> assertEquals(0, run("help", "jmx").status()), () -> assertEquals(2, run("nope").status()),
                () -> assertEquals(2, run("inspect").status()), () -> assertEquals(2, run("attach").status()),
                () -> assertEquals(2, run("attach", "-5").status()), () -> assertEquals(2, run("jmx", "12").status()),
                () -> assertEquals(2, run("jmx", "12", "list", "extra").status()),
                () -> assertEquals(1, run("inspect", "/no/such/dir").status()),
                () -> assertEquals(1, run("attach", "12", "adapter=/no/such/dir").status()));
    }

    @Test
    void mklLibraryWritesTheLibraryByteForByteAndChecksItsArgument(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("libmkl.so");
        Run wrote = run("mkl-library", file.toString());
        Run none = run("mkl-library");
        Run directory = run("mkl-library", dir.toString());
        assertAll(() -> assertEquals(0, wrote.status(), wrote.err()),
                () -> assertArrayEquals(io.peft4j.agent.mkl.CpuCheckLibrary.bytes(), Files.readAllBytes(file)),
                () -> assertEquals("wrote " + file + " (mkl_serv_intel_cpu_true answers yes); run with LD_PRELOAD="
                        + file + "\n", wrote.out()),
                () -> assertEquals(2, none.status()),
                () -> assertTrue(none.err().startsWith("peft4j mkl-library: the file to write is required"),
                        none.err()),
                () -> assertEquals(1, directory.status()),
                () -> assertEquals("peft4j mkl-library: " + dir + " is a directory; give the library's file name"
                        + " (e.g. " + dir.resolve("libpeft4j-mkl-intel-paths.so") + ")\n", directory.err()),
                () -> assertTrue(run("help", "mkl-library").out().contains("LD_PRELOAD=FILE.so")));
    }

    @Test
    void mergeChecksItsArguments() {
        String model = GOLDEN.resolve("b1_lora_mlp/base_model.torchscript.pt").toString();
        String adapter = GOLDEN.resolve("b1_lora_mlp").toString();
        Run missing = run("merge", "--model", "/no/such.pt", "--adapter", adapter, "--out", "merged.pt");
        Run twice = run("merge", "--model", model, "--adapter", adapter, "--adapter", "default=" + adapter,
                "--out", "merged.pt");
        assertAll(() -> assertEquals(2, run("merge").status()),
                () -> assertEquals(2, run("merge", "--model", model, "--out", "merged.pt").status()),
                () -> assertEquals(2, run("merge", "--model", model, "--adapter", adapter, "--out", "m",
                        "--format", "onnx").status()),
                () -> assertEquals(2, run("merge", "--model", model, "--adapter", adapter, "--out", "m",
                        "--active", "other").status()),
                () -> assertEquals(2, twice.status(), twice.err()),
                () -> assertTrue(twice.err().contains("adapter name 'default' is given twice"), twice.err()),
                () -> assertEquals(1, missing.status()),
                () -> assertTrue(missing.err().contains("model file /no/such.pt does not exist"), missing.err()),
                () -> assertTrue(run("merge", "--help").out().contains("--format safetensors")));
    }

    @Test
    void helpGivesEveryOptionWithItsMeaning() {
        Run options = run("help", "options");
        Run attach = run("attach", "--help");
        for (OptionKey k : OptionKey.values()) {
            // The meaning's first words (wrapping may break the rest over lines), after its key's line.
            String[] words = OptionsHelp.plain(k.meaning()).split(" ");
            String start = words[0] + " " + words[1];
            String keyLine = "  " + k.key() + (k.defaultValue() == null ? "\n" : " (default: " + k.defaultValue()
                    + ")\n") + "      " + start;
            assertAll(() -> assertEquals(0, options.status()),
                    () -> assertTrue(options.out().contains(keyLine), () -> keyLine + "\n--- not in:\n"
                            + options.out()),
                    () -> assertTrue(attach.out().contains(keyLine), () -> keyLine + "\n--- not in:\n"
                            + attach.out()));
        }
        assertAll(() -> assertTrue(run("--help").out().contains("help options")),
                () -> assertTrue(options.out().contains("unzip -p peft4j-agent.jar META-INF/peft4j/OPTIONS.md")));
    }

    @Test
    void theReferenceTheHelpNamesIsPackaged() throws IOException {
        // target/classes is what the jar is made of; AgentJarTest checks the shaded jar itself.
        try (InputStream in = Cli.class.getClassLoader().getResourceAsStream(OptionsHelp.REFERENCE_RESOURCE)) {
            assertNotNull(in, OptionsHelp.REFERENCE_RESOURCE + " is not on the class path");
            assertArrayEquals(Files.readAllBytes(Path.of("OPTIONS.md")), in.readAllBytes());
        }
    }

    @Test
    void inspectWithPeftsReaders() {
        Run r = run("inspect", GOLDEN.resolve("b1_lora_mlp").toString());
        assertAll(() -> assertEquals(0, r.status(), r.err()),
                () -> assertTrue(r.out().contains("peft_type: LORA"), r.out()),
                () -> assertTrue(r.out().contains("(4 tensors, 448 parameters)"), r.out()),
                () -> assertTrue(r.out().contains("fc1.lora_A.weight  F32   [4, 16]"), r.out()));
    }

    @Test
    void inspectFailsOnAConfigTheAgentWouldRefuseAndSaysWhy(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("adapter_config.json"),
                "{\"peft_type\": \"LORA\", \"r\": 4, \"target_module\": [\"fc1\"]}");
        Run r = run("inspect", dir.toString());
        assertAll(() -> assertEquals(1, r.status(), r.err()), () -> assertEquals("", r.out()),
                () -> assertEquals("peft4j inspect: adapter directory " + dir + ": "
                        + dir.resolve("adapter_config.json") + ": field \"target_modules\": Please specify"
                        + " `target_modules` or `target_parameters`in `peft_config` (target_modules is missing; PEFT"
                        + " fills it only for Transformers model types it knows, and DJL models have none); also:"
                        + " unknown key ['target_module'] for LoraConfig (did you mean 'target_modules'?)\n", r.err()));
    }

    @Test
    void treeListsTheModulesOfATorchScriptFileAndWhatAConfigTargets() {
        String model = GOLDEN.resolve("b1_lora_mlp/base_model.torchscript.pt").toString();
        Run r = run("tree", "--model", model, "--config", GOLDEN.resolve("b1_lora_mlp").toString());
        assertEquals(0, r.status(), r.err());
        assertEquals(String.join("\n", "module tree of " + model + " with the config of "
                        + GOLDEN.resolve("b1_lora_mlp"),
                "(root)  PtSymbolBlock",
                "  fc1  module  weight [32, 16], bias [32]  <- targeted: target_modules 'fc1'",
                "  fc2  module  weight [32, 32], bias [32]  <- targeted: target_modules 'fc2'",
                "  head  module  weight [4, 32], bias [4]",
                "4 modules (3 leaves), 2 targeted", ""), r.out());
        assertAll(() -> assertEquals(2, run("tree").status()),
                () -> assertEquals(2, run("tree", "--model").status()),
                () -> assertEquals(2, run("tree", "--model", model, "--depth", "2").status()),
                () -> assertEquals(1, run("tree", "--model", "/no/such.pt").status()),
                () -> assertTrue(run("tree", "--model", "/no/such.pt").err().contains("model file /no/such.pt does"
                        + " not exist")),
                () -> assertTrue(run("help", "tree").out().contains("--config DIR")));
        Run block = run("tree", "--model", "ai.djl.nn.SequentialBlock");
        assertEquals("module tree of ai.djl.nn.SequentialBlock\n(root)  SequentialBlock\n1 modules (0 leaves)\n",
                block.out(), block.err());
        Run noConstructor = run("tree", "--model", "ai.djl.nn.core.Linear");
        assertAll(() -> assertEquals(1, noConstructor.status()),
                () -> assertTrue(noConstructor.err().contains("class ai.djl.nn.core.Linear has no public no-argument"
                        + " constructor; print its tree where the application builds it"), noConstructor.err()));
    }

    @Test
    void attachMakesRelativePathsAbsolute() throws CommandFailure {
        String options = AttachCommand.absoluteOptions("dumpDir=dumps,onError=warn");
        assertEquals("dumpDir=" + Path.of("dumps").toAbsolutePath() + ",onError=warn", options);
    }
}
