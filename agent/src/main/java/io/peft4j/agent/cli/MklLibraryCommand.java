package io.peft4j.agent.cli;

import io.peft4j.agent.mkl.CpuCheckLibrary;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code mkl-library FILE}: writes {@link CpuCheckLibrary}, for {@code LD_PRELOAD}: what the agent option
 * {@code mklCodePaths=features} loads at launch, for processes started without the agent (a JVM using only the Java
 * API, a benchmark's reference).
 */
final class MklLibraryCommand implements Cli.Command {

    @Override
    public String usage() {
        return String.join("\n",
                "usage: java -jar peft4j-agent.jar mkl-library FILE.so",
                "",
                "Writes a 1 KB Linux x86-64 library defining mkl_serv_intel_cpu_true() { return 1; }. Preloaded into",
                "a process (LD_PRELOAD=FILE.so), it makes the oneMKL inside libtorch choose its kernels by the CPU's",
                "features on CPUs that are not Intel's (AMD), as the agent option mklCodePaths=features does at",
                "launch. Use it where the agent is not given at launch; on Intel CPUs it changes nothing.");
    }

    @Override
    public void run(List<String> args, PrintStream out) throws UsageException, CommandFailure {
        if (args.size() != 1 || args.get(0).startsWith("--")) {
            throw new UsageException(args.isEmpty() ? "the file to write is required" : "expected one file, not "
                    + args, usage());
        }
        Path file = Path.of(args.get(0)).toAbsolutePath();
        if (Files.isDirectory(file)) {
            throw new CommandFailure(file + " is a directory; give the library's file name (e.g. " + file
                    .resolve(CpuCheckLibrary.SONAME) + ")");
        }
        try {
            CpuCheckLibrary.write(file);
        } catch (IOException e) {
            throw new CommandFailure("cannot write " + file + ": " + e.getMessage());
        }
        out.println("wrote " + file + " (" + CpuCheckLibrary.SYMBOL + " answers yes); run with LD_PRELOAD=" + file);
    }
}
