package io.peft4j.agent.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code tree --model MODEL.pt|CLASS [--config DIR] [--classpath CP] [--input 1x16]}: every module path of a model,
 * with its block class and parameter shapes and, with {@code --config}, what targets each module, offline. Like
 * {@code merge}, it needs DJL from this JVM's class path or from {@code --classpath}, in a class loader of its own.
 * For a running JVM, {@code jmx <pid> tree} prints the trees of the models it uses.
 */
final class TreeCommand implements Cli.Command {

    private static final String REPORT_CLASS = "io.peft4j.ModuleTreeReport";

    @Override
    public String usage() {
        return String.join("\n",
                "usage: java -jar peft4j-agent.jar tree --model MODEL.pt|CLASS [--config DIR] [--classpath CP]",
                "           [--input 1x16]",
                "",
                "Prints every module path of a model (the names target_modules is matched against), with its block",
                "class and parameter shapes under PyTorch's names, in PyTorch's named_modules() order.",
                "",
                "  --model MODEL.pt   a TorchScript file (traced model: paths from its parameter names)",
                "  --model CLASS      a DJL Block class with a public no-argument constructor, from --classpath",
                "  --input 1x16       for a CLASS: the input shape(s) to initialise it with (joined with ','), so",
                "                     that its parameters have shapes; without it they print as (not initialised)",
                "  --config DIR       an adapter directory: each module says whether its config targets it and by",
                "                     which rule (target_modules, layers_to_transform, exclude_modules, ...)",
                "  --classpath CP     where DJL, its PyTorch engine and the model class are (the application's",
                "                     class path; DIR/* takes every jar in DIR)",
                "",
                "For a running JVM: java -jar peft4j-agent.jar jmx <pid> tree. Runs with -Dai.djl.offline=true.");
    }

    @Override
    public void run(List<String> args, PrintStream out) throws UsageException, CommandFailure {
        String model = null;
        String config = null;
        String classpath = null;
        String input = null;
        for (Map.Entry<String, String> option : Cli.optionPairs(args, usage())) {
            String arg = option.getKey();
            String value = option.getValue();
            switch (arg) {
                case "--model":
                    model = value;
                    break;
                case "--config":
                    config = value;
                    break;
                case "--classpath":
                    classpath = value;
                    break;
                case "--input":
                    input = value;
                    break;
                default:
                    throw new UsageException("unknown option " + arg, usage());
            }
        }
        if (model == null) {
            throw new UsageException("--model is required", usage());
        }
        if ((model.contains("/") || model.contains(java.io.File.separator) || model.endsWith(".pt"))
                && !Files.isRegularFile(Path.of(model))) {
            throw new CommandFailure("model file " + Path.of(model).toAbsolutePath() + " does not exist");
        }
        if (config != null && !Files.exists(Path.of(config))) {
            throw new CommandFailure("adapter directory " + Path.of(config).toAbsolutePath() + " does not exist");
        }
        out.print(MergeCommand.callWithDjl(classpath, "tree", REPORT_CLASS, "describe", new Class<?>[] {String.class,
            String.class, String.class}, new Object[] {model, config, input}, "cannot list the modules of " + model));
    }
}
