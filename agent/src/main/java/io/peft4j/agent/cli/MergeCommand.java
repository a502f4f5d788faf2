package io.peft4j.agent.cli;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code merge --model MODEL.pt --adapter [NAME=]DIR [--adapter ...] --out FILE}: merges adapters into a TorchScript
 * file offline, for deployments that want no agent. The work needs DJL and its PyTorch engine, which this jar does not
 * ship: they come from this JVM's class path, or from {@code --classpath} (the application's class path), loaded in a
 * class loader of their own together with this jar.
 */
final class MergeCommand implements Cli.Command {

    private static final String MERGE_CLASS = "io.peft4j.traced.TorchScriptMerge";

    @Override
    public String usage() {
        return String.join("\n",
                "usage: java -jar peft4j-agent.jar merge --model MODEL.pt --adapter [NAME=]DIR [--adapter ...]",
                "           --out FILE [--active a+b] [--format torchscript|safetensors] [--classpath CP]",
                "",
                "Loads the TorchScript file MODEL.pt, merges the adapters into its weights in the order given (PEFT's",
                "merge formulas: LoRA, DoRA, IA3, AdaLoRA, modules_to_save) and writes FILE: a TorchScript file that",
                "runs without peft4j (default), or with --format safetensors the merged parameters under PyTorch's",
                "names. The input file is not changed.",
                "",
                "  --adapter [NAME=]DIR  an adapter directory; unnamed ones are 'default', then their directory name",
                "  --active a+b          merge only these adapters (the others are read first); default: all",
                "  --classpath CP        where DJL and its PyTorch engine are (the application's class path; DIR/*",
                "                        takes every jar in DIR); not needed when they are on this JVM's class path",
                "",
                "Runs with -Dai.djl.offline=true unless told otherwise: nothing is downloaded.");
    }

    @Override
    public void run(List<String> args, PrintStream out) throws UsageException, CommandFailure {
        String model = null;
        String target = null;
        String format = "torchscript";
        String classpath = null;
        String active = null;
        List<String> names = new ArrayList<>();
        List<String> dirs = new ArrayList<>();
        for (Map.Entry<String, String> option : Cli.optionPairs(args, usage())) {
            String arg = option.getKey();
            String value = option.getValue();
            switch (arg) {
                case "--model":
                    model = value;
                    break;
                case "--out":
                    target = value;
                    break;
                case "--format":
                    if (!value.equals("torchscript") && !value.equals("safetensors")) {
                        throw new UsageException("--format must be torchscript or safetensors, not '" + value + "'",
                                usage());
                    }
                    format = value;
                    break;
                case "--classpath":
                    classpath = value;
                    break;
                case "--active":
                    active = value;
                    break;
                case "--adapter":
                    addAdapter(value, names, dirs);
                    break;
                default:
                    throw new UsageException("unknown option " + arg, usage());
            }
        }
        if (model == null || target == null || names.isEmpty()) {
            throw new UsageException("--model, --adapter and --out are required", usage());
        }
        if (!Files.isRegularFile(Path.of(model))) {
            throw new CommandFailure("model file " + Path.of(model).toAbsolutePath() + " does not exist");
        }
        for (String dir : dirs) {
            if (!Files.isDirectory(Path.of(dir))) {
                throw new CommandFailure("adapter directory " + Path.of(dir).toAbsolutePath() + " does not exist");
            }
        }
        List<String> activeNames = active == null ? null : Arrays.asList(active.split("\\+"));
        if (activeNames != null && !names.containsAll(activeNames)) {
            throw new UsageException("--active " + active + " names adapters not given with --adapter " + names,
                    usage());
        }
        out.println(callWithDjl(classpath, "merge", MERGE_CLASS, "mergeFiles", new Class<?>[] {String.class,
            List.class, List.class, List.class, String.class, String.class},
                new Object[] {model, names, dirs, activeNames, target, format}, "cannot merge into " + model));
    }

    /**
     * Calls static method {@code method} of peft4j's class {@code className} in a class loader that sees DJL
     * ({@link #djlLoader}), with that loader as the thread's context loader (DJL finds its engine through it), and
     * with {@code -Dai.djl.offline=true} unless this JVM was given another value: nothing is downloaded.
     *
     * @param failure what failed, for the message when the call throws
     */
    static Object callWithDjl(String classpath, String command, String className, String method, Class<?>[] types,
            Object[] args, String failure) throws CommandFailure {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        ClassLoader loader = djlLoader(classpath, command);
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(loader);
        try {
            return Class.forName(className, true, loader).getMethod(method, types).invoke(null, args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            throw new CommandFailure(failure + ": " + (cause.getMessage() != null ? cause.getMessage()
                    : cause.toString()), cause);
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new CommandFailure("cannot start the " + command + " (" + e + "): is --classpath the"
                    + " application's class path, with DJL's api, pytorch-engine, pytorch-jni and pytorch-native"
                    + " jars?", e);
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    private static void addAdapter(String value, List<String> names, List<String> dirs) throws UsageException {
        int eq = value.indexOf('=');
        String name;
        String dir;
        if (eq > 0) {
            name = value.substring(0, eq);
            dir = value.substring(eq + 1);
        } else {
            dir = value;
            name = names.contains("default") ? Path.of(dir).toAbsolutePath().normalize().getFileName().toString()
                    : "default";
        }
        if (names.contains(name)) {
            throw new UsageException("adapter name '" + name + "' is given twice; name them: --adapter NAME=DIR",
                    new MergeCommand().usage());
        }
        names.add(name);
        dirs.add(dir);
    }

    /**
     * A class loader that sees DJL's PyTorch engine and peft4j: this JVM's, or one over --classpath (for the
     * {@code merge} and {@code tree} commands, named by {@code command} in messages).
     */
    static ClassLoader djlLoader(String classpath, String command) throws CommandFailure {
        ClassLoader own = MergeCommand.class.getClassLoader();
        if (visible("ai.djl.pytorch.engine.PtEngine", own)) {
            return own;
        }
        if (classpath == null) {
            throw new CommandFailure(command + " needs DJL and its PyTorch engine, which peft4j-agent.jar does not"
                    + " ship: pass the application's class path with --classpath (e.g. --classpath 'lib/*')");
        }
        Set<URL> urls = new LinkedHashSet<>();
        try {
            urls.add(AttachCommand.agentJar().toUri().toURL());
            for (String entry : classpath.split(File.pathSeparator)) {
                if (entry.isBlank()) {
                    continue;
                }
                if (entry.endsWith("*")) {
                    Path dir = Path.of(entry.substring(0, entry.length() - 1));
                    try (DirectoryStream<Path> jars = Files.newDirectoryStream(dir, "*.{jar,JAR}")) {
                        for (Path jar : jars) {
                            urls.add(jar.toUri().toURL());
                        }
                    }
                } else {
                    urls.add(Path.of(entry).toUri().toURL());
                }
            }
        } catch (IOException e) {
            throw new CommandFailure("cannot read --classpath " + classpath + ": " + e, e);
        }
        URLClassLoader loader = new URLClassLoader("peft4j-" + command, urls.toArray(new URL[0]),
                ClassLoader.getPlatformClassLoader());
        if (!visible("ai.djl.pytorch.engine.PtEngine", loader)) {
            throw new CommandFailure("--classpath " + classpath + " has no DJL PyTorch engine"
                    + " (ai.djl.pytorch:pytorch-engine with its api, pytorch-jni and pytorch-native jars)");
        }
        return loader;
    }

    private static boolean visible(String className, ClassLoader loader) {
        try {
            Class.forName(className, false, loader);
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}
