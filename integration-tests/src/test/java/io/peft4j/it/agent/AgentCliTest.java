package io.peft4j.it.agent;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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

    /**
     * {@code combine} reproduces the adapters PEFT's {@code add_weighted_adapter} wrote (w1: ties, w5: svd with
     * svd_clamp, whose result depends on LAPACK's singular-vector signs) from the two source directories alone.
     */
    @Test
    void combineWritesTheAdapterPeftWrote() {
        for (String[] c : new String[][] {
            {"w1_weighted_ties", "0.7,0.3", "--type", "ties", "--density", "0.5", "--majority-sign", "total"},
            {"w5_weighted_svd_clamp", "1,1", "--type", "svd", "--svd-rank", "6", "--svd-clamp", "0.9"}}) {
            Path work = Env.freshDir("agent/cli-combine-" + c[0]);
            Path golden = Env.goldenCase(c[0]);
            Path out = work.resolve("combined");
            List<String> args = new ArrayList<>(List.of("combine", "--adapter", golden.resolve("a").toString(),
                    "--adapter", golden.resolve("b").toString(), "--weights", c[1], "--out", out.toString()));
            args.addAll(Arrays.asList(c).subList(2, c.length));
            AgentCli.Result r = AgentCli.run(work, args.toArray(new String[0]));
            assertEquals(0, r.exitCode(), r::toString);
            assertTrue(r.stdout().contains("modules: fc1, fc2"), r::toString);
            Map<String, Tensors.Tensor> peft = Tensors.read(golden.resolve("combined/adapter_model.safetensors"));
            Map<String, Tensors.Tensor> ours = Tensors.read(out.resolve("adapter_model.safetensors"));
            assertEquals(List.copyOf(peft.keySet()), List.copyOf(ours.keySet()), c[0]);
            for (String key : peft.keySet()) {
                float[] expected = peft.get(key).values();
                float[] actual = ours.get(key).values();
                assertTrue(Tensors.close(expected, actual, 2e-5), () -> c[0] + " " + key + ": max diff "
                        + Tensors.maxAbsDiff(expected, actual));
            }
        }
    }

    @Test
    void combineRefusesWhatPeftRefuses() {
        Path work = Env.freshDir("agent/cli-combine-errors");
        Path golden = Env.goldenCase("w1_weighted_ties");
        AgentCli.Result rank = AgentCli.run(work, "combine", "--adapter", golden.resolve("a").toString(), "--adapter",
                golden.resolve("b").toString(), "--weights", "1,1", "--type", "svd", "--svd-rank", "20", "--out",
                work.resolve("out").toString());
        assertAll(() -> assertEquals(1, rank.exitCode(), rank::toString),
                () -> assertTrue(rank.stderr().contains("svd_rank 20 is larger than min(out, in) = 16 of module "
                        + "'fc1'"), rank::toString));
        AgentCli.Result density = AgentCli.run(work, "combine", "--adapter", golden.resolve("a").toString(),
                "--adapter", golden.resolve("b").toString(), "--weights", "1,1", "--type", "ties", "--out",
                work.resolve("out").toString());
        assertAll(() -> assertEquals(1, density.exitCode(), density::toString),
                () -> assertTrue(density.stderr().contains("combination_type ties needs density"),
                        density::toString));
        AgentCli.Result usage = AgentCli.run(work, "combine", "--adapter", golden.resolve("a").toString(),
                "--weights", "1", "--type", "nosuch", "--out", work.resolve("out").toString());
        assertAll(() -> assertEquals(2, usage.exitCode(), usage::toString),
                () -> assertTrue(usage.stderr().contains("Invalid combination_type: nosuch"), usage::toString));
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
        for (String command : new String[] {"attach", "inspect", "combine", "jmx"}) {
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
