package io.peft4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How busy the machine was with work that is not ours: CPU time used system-wide (from {@code /proc/stat}, steal
 * included) minus the CPU time of this JVM and its descendants (the JMH forks, the start-up runs), per second of
 * wall time, in cores. A benchmark run while another build shares a 2-core machine is flagged by it. Linux only;
 * elsewhere it reports NaN.
 */
final class LoadMonitor {

    private static final Path STAT = Path.of("/proc/stat");
    private static final long HZ = 100; // USER_HZ: 100 on every Linux the JDK supports

    private long busy0;
    private long ours0;
    private long wall0;

    /** Starts a measurement interval. */
    void start() {
        busy0 = systemBusy();
        ours0 = ourCpu();
        wall0 = System.nanoTime();
    }

    /** Average cores used by others since {@link #start()} (NaN if unknown). */
    double otherCores() {
        long busy = systemBusy();
        long ours = ourCpu();
        double seconds = (System.nanoTime() - wall0) / 1e9;
        if (busy < 0 || busy0 < 0 || ours < 0 || seconds <= 0) {
            return Double.NaN;
        }
        return Math.max(0, ((busy - busy0) - (ours - ours0)) / (double) HZ / seconds);
    }

    private static long systemBusy() {
        try {
            String cpu = Files.readAllLines(STAT).get(0);
            String[] f = cpu.trim().split("\\s+");
            // cpu user nice system idle iowait irq softirq steal ...
            long busy = 0;
            for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
                busy += Long.parseLong(f[i]);
            }
            return busy;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** utime+stime+cutime+cstime of this JVM (reaped forks land in cutime) plus utime+stime of live descendants. */
    private static long ourCpu() {
        long self = cpuOf(ProcessHandle.current().pid(), true);
        if (self < 0) {
            return -1;
        }
        long total = self;
        for (ProcessHandle child : ProcessHandle.current().descendants().toList()) {
            total += Math.max(0, cpuOf(child.pid(), false));
        }
        return total;
    }

    private static long cpuOf(long pid, boolean withChildren) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // fields after the command, which is in parentheses and may contain spaces
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // f[0] is field 3 (state): utime is field 14 -> f[11], stime f[12], cutime f[13], cstime f[14]
            long t = Long.parseLong(f[11]) + Long.parseLong(f[12]);
            if (withChildren) {
                t += Long.parseLong(f[13]) + Long.parseLong(f[14]);
            }
            return t;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** For a quick look: {@code java -cp benchmarks.jar io.peft4j.bench.LoadMonitor} prints other load for 5 s. */
    public static void main(String[] args) throws InterruptedException {
        LoadMonitor m = new LoadMonitor();
        for (int i = 0; i < 5; i++) {
            m.start();
            Thread.sleep(1000);
            System.out.printf("other processes: %.2f cores%n", m.otherCores());
        }
    }
}
