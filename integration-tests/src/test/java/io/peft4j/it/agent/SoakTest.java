package io.peft4j.it.agent;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A soak: one thread runs many forwards through the agent with two adapters active ({@code default+other} of golden
 * case {@code g_two_adapters}), sampling 20 times the resident set size ({@code /proc/self/status}) and the NDArrays
 * alive in all of DJL's managers. After warm-up (the first half of the samples) the array count must not change at
 * all, and the resident set must not grow steadily: its growth from the end of warm-up to the last sample, less the two
 * largest rises between consecutive samples, stays under 1%, and its growth in all stays under 5%. A leak raises the
 * resident set a little in every interval, so taking out two intervals keeps 80% of it; a one-off step of the
 * allocator (a new malloc arena, the JIT's code cache: 2-4 MB, 1.4-1.7% here, in about one run of twelve) falls in one
 * interval and is taken out whole. The heap is fixed and pre-touched ({@code -Xms} = {@code -Xmx},
 * {@code -XX:+AlwaysPreTouch}) so that what grows is native memory.
 *
 * <p>5,000 forwards in {@code mvn verify}; the full run is 100,000: {@code mvn -B -pl integration-tests -am verify
 * -Dtest=SoakTest -Dsurefire.failIfNoSpecifiedTests=false -Dpeft4j.soak.forwards=100000}.
 */
class SoakTest {

    private static final Path CASE = Env.goldenCase("g_two_adapters");

    @Test
    void nativeMemoryStaysFlatOverManyAdaptedForwards() {
        assumeTrue(Files.isReadable(Path.of("/proc/self/status")), "needs Linux /proc");
        long forwards = Long.getLong("peft4j.soak.forwards", 5_000);
        Path work = Env.freshDir("agent/soak");
        try (App app = App.of("ServeApp")
                .agent("adapter=" + CASE.resolve("default") + ",adapter.other=" + CASE.resolve("other")
                        + ",active=default+other")
                .jvmArg("-Xms96m").jvmArg("-Xmx96m").jvmArg("-XX:+AlwaysPreTouch")
                .args(CASE, "--forwards", forwards)
                .start(work, "app")) {
            // one sample at a time, each within its own bound: a slow machine slows the soak, a hang fails it
            Duration perSample = Duration.ofMillis(Math.max(120_000, forwards / 20 * 100));
            for (int i = 0, k = 1; k <= 20; k++) {
                i = app.await(i, l -> l.startsWith("SAMPLE ") || l.startsWith("FAILED"), "sample " + k + " of 20",
                        perSample) + 1;
            }
            assertEquals(0, app.stop(), app::describe);
            List<long[]> samples = new ArrayList<>();
            for (String line : app.lines()) {
                if (line.startsWith("SAMPLE ")) {
                    String[] f = line.split(" ");
                    samples.add(new long[] {value(f[1]), value(f[2]), value(f[3])});
                }
            }
            assertEquals(20, samples.size(), app::describe);
            int warmIndex = samples.size() / 2 - 1;
            long[] warm = samples.get(warmIndex);
            long[] last = samples.get(samples.size() - 1);
            long maxRss = samples.subList(warmIndex, samples.size()).stream().mapToLong(s -> s[1]).max()
                    .orElseThrow();
            double growth = (maxRss - warm[1]) / (double) warm[1];
            double steady = steadyGrowth(samples.subList(warmIndex, samples.size()).stream().mapToLong(s -> s[1])
                    .toArray());
            StringBuilder table = new StringBuilder();
            samples.forEach(s -> table.append(String.format("  n=%d rss=%d kB arrays=%d%n", s[0], s[1], s[2])));
            System.out.printf("SoakTest: %d forwards, RSS %d kB after warm-up (n=%d), at most %d kB after (%+.3f%%;"
                    + " %+.3f%% without the two largest rises), arrays %d -> %d%n%s", forwards, warm[1], warm[0],
                    maxRss, 100 * growth, 100 * steady, warm[2], last[2], table);
            assertAll(() -> assertTrue(steady < 0.01, "RSS grew steadily by " + 100 * steady + "% after warm-up"
                            + " (the two largest rises between samples left out)\n" + table),
                    () -> assertTrue(growth < 0.05, "RSS grew by " + 100 * growth + "% after warm-up\n" + table),
                    () -> assertTrue(samples.stream().skip(samples.size() / 2 - 1).allMatch(s -> s[2] == warm[2]),
                            "NDArrays alive changed after warm-up\n" + table),
                    () -> assertFalse(app.stderr().contains("[peft4j] ERROR"), app::describe),
                    () -> assertTrue(app.stderr().contains("active adapters [default, other]"), app::describe));
        }
    }

    /**
     * The growth of {@code rss} from its first to its last value, less its two largest rises between consecutive
     * values, relative to the first value.
     */
    static double steadyGrowth(long[] rss) {
        long[] rises = new long[rss.length - 1];
        for (int i = 1; i < rss.length; i++) {
            rises[i - 1] = Math.max(0, rss[i] - rss[i - 1]);
        }
        Arrays.sort(rises);
        long largestTwo = rises.length < 2 ? 0 : rises[rises.length - 1] + rises[rises.length - 2];
        return (rss[rss.length - 1] - rss[0] - largestTwo) / (double) rss[0];
    }

    @Test
    void steadyGrowthTakesOutOneOffStepsButNotALeak() {
        long[] step = {280_000, 280_100, 279_900, 284_600, 284_500, 284_700, 284_600, 284_600, 284_700, 284_600,
            284_650};
        long[] leak = new long[11];
        for (int i = 0; i < leak.length; i++) {
            leak[i] = 280_000 + i * 400L; // +1.43% over 10 intervals, evenly
        }
        assertAll(() -> assertTrue(steadyGrowth(step) < 0.001, "a one-off 4.7 MB step: " + steadyGrowth(step)),
                () -> assertEquals(8 * 400 / 280_000.0, steadyGrowth(leak), 1e-12),
                () -> assertTrue(steadyGrowth(leak) > 0.01, "an even leak of 1.43% keeps 80% of it"));
    }

    private static long value(String field) {
        return Long.parseLong(field.substring(field.indexOf('=') + 1));
    }
}
