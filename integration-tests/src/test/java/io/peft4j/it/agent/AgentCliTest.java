package io.peft4j.it.agent;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code java -jar peft4j-agent.jar} as an operator runs it, without DJL on its class path: {@code inspect} prints a
 * golden adapter's config and every tensor's name, dtype and shape; usage errors exit 2, failures exit 1 naming the
 * directory or pid at fault; every command has {@code --help}.
 */
class AgentCliTest {

    @Test
    void inspectPrintsTheConfigAndEveryTensor() {
        Path work = Env.freshDir("agent/cli-inspect");
        Path adapter = Env.goldenCase("g_two_adapters").resolve("other");
        AgentCli.Result r = AgentCli.run(work, "inspect", adapter.toString());
        assertEquals(0, r.exitCode(), r::toString);
        Map<String, Tensors.Tensor> tensors = Tensors.read(adapter.resolve("adapter_model.safetensors"));
        assertAll(() -> assertTrue(r.stdout().contains("peft_type: LORA"), r::toString),
                () -> assertTrue(r.stdout().contains("  r: 2"), r::toString),
                () -> assertTrue(r.stdout().contains("  lora_alpha: 2"), r::toString),
                () -> assertTrue(r.stdout().contains("target_modules: "), r::toString),
                () -> assertTrue(r.stdout().contains("(" + tensors.size() + " tensors"), r::toString));
        for (Map.Entry<String, Tensors.Tensor> e : tensors.entrySet()) {
            String expected = e.getKey() + " " + e.getValue().dtype() + " " + Arrays.toString(e.getValue().shape());
            assertTrue(r.stdout().lines().anyMatch(l -> l.trim().replaceAll("\\s+", " ").equals(expected)),
                    () -> "no line '" + expected + "'\n" + r);
        }
    }

    @Test
    void inspectOfAMissingDirectoryFailsNamingIt() {
        Path work = Env.freshDir("agent/cli-inspect-missing");
        Path missing = work.resolve("no-such-adapter");
        AgentCli.Result r = AgentCli.run(work, "inspect", missing.toString());
        assertAll(() -> assertEquals(1, r.exitCode(), r::toString),
                () -> assertTrue(r.stderr().contains(missing.toString()), r::toString));
    }

    @Test
    void mergeWithoutDjlOnItsClassPathSaysHowToPassIt() {
        // The agent jar ships no DJL: the offline merge needs the application's class path (--classpath).
        Path work = Env.freshDir("agent/cli-merge-no-djl");
        Path caseDir = Env.goldenCase("b1_lora_mlp");
        AgentCli.Result r = AgentCli.run(work, "merge", "--model",
                caseDir.resolve("base_model.torchscript.pt").toString(), "--adapter", caseDir.toString(), "--out",
                work.resolve("merged.pt").toString());
        assertAll(() -> assertEquals(1, r.exitCode(), r::toString),
                () -> assertTrue(r.stderr().contains("pass the application's class path with --classpath"),
                        r::toString));
    }

    @Test
    void inspectOfInvalidJsonFailsNamingTheFile() throws IOException {
        Path work = Env.freshDir("agent/cli-inspect-invalid");
        Path adapter = Files.createDirectories(work.resolve("adapter"));
        Files.writeString(adapter.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": ");
        AgentCli.Result r = AgentCli.run(work, "inspect", adapter.toString());
        assertAll(() -> assertEquals(1, r.exitCode(), r::toString),
                () -> assertTrue(r.stderr().contains(adapter.resolve("adapter_config.json").toString()),
                        r::toString));
    }

    @Test
    void everyCommandHasHelp() {
        Path work = Env.freshDir("agent/cli-help");
        for (String command : new String[] {"attach", "inspect", "jmx"}) {
            AgentCli.Result r = AgentCli.run(work, command, "--help");
            assertAll(command, () -> assertEquals(0, r.exitCode(), r::toString),
                    () -> assertTrue(r.stdout().startsWith("usage: java -jar peft4j-agent.jar " + command),
                            r::toString));
        }
        AgentCli.Result help = AgentCli.run(work, "--help");
        assertAll(() -> assertEquals(0, help.exitCode(), help::toString),
                () -> assertTrue(help.stdout().contains("attach <pid>"), help::toString));
    }

    @Test
    void usageErrorsExitWithStatus2() {
        Path work = Env.freshDir("agent/cli-usage");
        AgentCli.Result none = AgentCli.run(work);
        AgentCli.Result unknown = AgentCli.run(work, "frobnicate");
        AgentCli.Result badPid = AgentCli.run(work, "jmx", "not-a-pid", "list");
        AgentCli.Result badOp = AgentCli.run(work, "jmx", "1", "explode");
        AgentCli.Result missingArg = AgentCli.run(work, "jmx", "1", "load");
        assertAll(() -> assertEquals(2, none.exitCode(), none::toString),
                () -> assertEquals(2, unknown.exitCode(), unknown::toString),
                () -> assertTrue(unknown.stderr().contains("frobnicate"), unknown::toString),
                () -> assertEquals(2, badPid.exitCode(), badPid::toString),
                () -> assertTrue(badPid.stderr().contains("not-a-pid"), badPid::toString),
                () -> assertEquals(2, badOp.exitCode(), badOp::toString),
                () -> assertTrue(badOp.stderr().contains("explode"), badOp::toString),
                () -> assertEquals(2, missingArg.exitCode(), missingArg::toString));
    }

    @Test
    void jmxAndAttachToAProcessThatDoesNotExistFailNamingThePid() {
        Path work = Env.freshDir("agent/cli-no-such-pid");
        long pid = unusedPid();
        AgentCli.Result jmx = AgentCli.run(work, "jmx", Long.toString(pid), "list");
        AgentCli.Result attach = AgentCli.run(work, "attach", Long.toString(pid),
                "adapter=" + Env.goldenCase("b1_lora_mlp"));
        assertAll(() -> assertEquals(1, jmx.exitCode(), jmx::toString),
                () -> assertTrue(jmx.stderr().contains("pid " + pid), jmx::toString),
                () -> assertEquals(1, attach.exitCode(), attach::toString),
                () -> assertTrue(attach.stderr().contains("pid " + pid), attach::toString));
    }

    @Test
    void attachChecksTheOptionsBeforeAttaching() {
        Path work = Env.freshDir("agent/cli-attach-options");
        Path missing = work.resolve("no-such-adapter");
        AgentCli.Result noDir = AgentCli.run(work, "attach", "1", "adapter=" + missing);
        AgentCli.Result badKey = AgentCli.run(work, "attach", "1", "adaptr=" + missing);
        assertAll(() -> assertEquals(1, noDir.exitCode(), noDir::toString),
                () -> assertTrue(noDir.stderr().contains(missing.toString()), noDir::toString),
                () -> assertEquals(1, badKey.exitCode(), badKey::toString),
                () -> assertTrue(badKey.stderr().contains("adaptr"), badKey::toString));
    }

    /** A process id that no process has now. */
    static long unusedPid() {
        for (long pid = 4_000_000; pid > 1000; pid -= 7919) {
            if (ProcessHandle.of(pid).isEmpty()) {
                return pid;
            }
        }
        throw new IllegalStateException("no unused pid found");
    }
}
