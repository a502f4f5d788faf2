package io.peft4j.examples.demo;

import io.peft4j.examples.ParameterCount;
import io.peft4j.examples.ResultFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * Everything one demo run measured, read from the files its steps wrote (see {@link DemoLayout}), and the numbers
 * derived from them.
 *
 * @param lora the adapter config the LoRA run used
 * @param shift the domain shift fine-tuned on ({@code rotate90})
 * @param epochs fine-tuning epochs of both runs
 * @param trainSamples fine-tuning samples
 * @param testSamples test samples of each domain
 * @param base the pre-trained model, no fine-tuning
 * @param full full fine-tuning, no agent
 * @param loraRun LoRA fine-tuning under the agent
 * @param reloaded the saved adapter on the untouched base model, in a fresh JVM under the agent
 * @param adapterFiles the names of the files in the saved adapter directory, sorted
 * @param adapterBytes their total size
 * @param baseBytes the size of the base model's parameter files
 * @param chartIsPng whether the loss chart exists and starts with PNG's signature
 */
record DemoResults(LoraSettings lora, String shift, int epochs, int trainSamples, int testSamples, Stage base,
        Stage full, Stage loraRun, Stage reloaded, List<String> adapterFiles, long adapterBytes, long baseBytes,
        boolean chartIsPng) {

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    /**
     * One model's numbers.
     *
     * @param shiftedAccuracy accuracy 0..1 on the shifted test digits
     * @param originalAccuracy accuracy 0..1 on the original test digits
     * @param parameters trainable and all parameters while training; {@code null} when the step did not train
     * @param trainSeconds wall time of the fine-tuning epochs; {@code null} when the step did not fine-tune
     * @param jvmSeconds wall time of the step's JVM, start-up included
     */
    record Stage(double shiftedAccuracy, double originalAccuracy, ParameterCount parameters, Double trainSeconds,
            double jvmSeconds) {}

    /**
     * Reads a finished run.
     *
     * @param layout where the run wrote
     * @throws IOException naming the missing file or key when a step did not run or did not finish
     */
    static DemoResults read(DemoLayout layout) throws IOException {
        Path pretrainFile = layout.base().resolve("pretrain.properties");
        Path fullFile = layout.full().resolve("results.properties");
        Properties pretrain = properties(pretrainFile);
        Properties full = properties(fullFile);
        Path loraFile = layout.lora().resolve("results.properties");
        Path reloadedFile = layout.reloaded().resolve("results.properties");
        Properties reloaded = properties(reloadedFile);
        Stage base = new Stage(number(pretrain, "accuracy_shifted", pretrainFile),
                number(pretrain, "accuracy_original", pretrainFile), null, null,
                number(pretrain, "jvm_seconds", pretrainFile));
        Stage reload = new Stage(number(reloaded, "accuracy_shifted", reloadedFile),
                number(reloaded, "accuracy_original", reloadedFile), null, null,
                number(reloaded, "jvm_seconds", reloadedFile));
        return new DemoResults(LoraSettings.read(layout.adapterConfig()), text(full, "shift", fullFile),
                (int) number(full, "epochs", fullFile), (int) number(full, "train_samples", fullFile),
                (int) number(full, "test_samples", fullFile), base, fineTune(fullFile), fineTune(loraFile), reload,
                fileNames(layout.loraAdapter()), totalSize(layout.loraAdapter(), ""), totalSize(layout.base(),
                        ".params"), isPng(layout.chart()));
    }

    /** Accuracy points (0..100) fine-tuning added on the shifted digits, for {@code run}. */
    double gainPoints(Stage run) {
        return 100 * (run.shiftedAccuracy() - base.shiftedAccuracy());
    }

    /** LoRA's gain as a share 0..1 of full fine-tuning's gain; NaN when full fine-tuning gained nothing. */
    double loraShareOfGain() {
        double fullGain = gainPoints(full);
        return fullGain > 0 ? gainPoints(loraRun) / fullGain : Double.NaN;
    }

    private static Stage fineTune(Path file) throws IOException {
        Properties p = properties(file);
        ParameterCount parameters = new ParameterCount((long) number(p, "trainable_params", file),
                (long) number(p, "total_params", file));
        return new Stage(number(p, "accuracy_after", file), number(p, "accuracy_original_after", file), parameters,
                number(p, "train_seconds", file), number(p, "jvm_seconds", file));
    }

    private static Properties properties(Path file) throws IOException {
        try {
            return ResultFile.read(file);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null,
                    "missing: the step that writes it did not run or failed (./demo.sh runs every step)");
        }
    }

    private static String text(Properties properties, String key, Path file) throws IOException {
        String value = properties.getProperty(key);
        if (value == null || value.isBlank()) {
            throw new IOException(file + ": no value for '" + key + "'");
        }
        return value.trim();
    }

    private static double number(Properties properties, String key, Path file) throws IOException {
        String value = text(properties, key, file);
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IOException(file + ": '" + key + "' is not a number: '" + value + "'", e);
        }
    }

    private static List<String> fileNames(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Files::isRegularFile).map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    private static long totalSize(Path dir, String suffix) throws IOException {
        long bytes = 0;
        for (String name : fileNames(dir)) {
            if (name.endsWith(suffix)) {
                bytes += Files.size(dir.resolve(name));
            }
        }
        return bytes;
    }

    private static boolean isPng(Path file) throws IOException {
        if (!Files.isRegularFile(file) || Files.size(file) <= PNG_SIGNATURE.length) {
            return false;
        }
        try (InputStream in = Files.newInputStream(file)) {
            return Arrays.equals(in.readNBytes(PNG_SIGNATURE.length), PNG_SIGNATURE);
        }
    }
}
