package io.peft4j.state;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import io.peft4j.config.AdapterConfig;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.config.PeftMethods;
import io.peft4j.io.SafetensorsDType;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.io.SafetensorsHeader;
import io.peft4j.io.TensorEntry;
import io.peft4j.io.SafetensorsWriter;
import io.peft4j.io.TensorArrays;
import io.peft4j.io.TensorData;
import io.peft4j.layer.WeightUpdate;
import io.peft4j.log.PeftLog;
import io.peft4j.tuner.ModelAdapters;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * An adapter directory as PEFT reads and writes it: {@code adapter_config.json} and {@code adapter_model.safetensors}
 * (metadata {@code {"format": "pt"}}, PEFT's keys and dtypes).
 */
public final class AdapterDirectory {

    /** The config file name. */
    public static final String CONFIG_FILE = "adapter_config.json";
    /** The weights file name. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private static final PeftLog LOG = PeftLog.get(AdapterDirectory.class);

    private AdapterDirectory() {}

    /**
     * Writes adapter {@code adapter} of {@code model} into {@code dir} (created if needed); returns the files.
     *
     * <p>Never leaves a half-written adapter: a new directory is written under a temporary name beside it and renamed
     * into place (absent, or complete); into an existing directory each file is written to a temporary file and
     * renamed over the old one, the weights first, the config only when its text changed (so re-saving an adapter
     * whose config is unchanged leaves the old or the new complete adapter, whenever the process dies).
     */
    public static List<Path> save(ModelAdapters model, String adapter, Path dir) {
        AdapterConfig config = model.config(adapter);
        LinkedHashMap<String, TensorData> tensors = new LinkedHashMap<>();
        LinkedHashMap<String, Parameter> live = PeftStateDicts.adapterStateDict(model, adapter);
        for (Map.Entry<String, NDArray> e : PeftStateDicts.adapterTensors(model, adapter).entrySet()) {
            tensors.put(e.getKey(), TensorArrays.fromNDArray(e.getValue()));
            if (live.get(e.getKey()).getArray() != e.getValue()) {
                e.getValue().close();
            }
        }
        try {
            writeAtomically(PeftMethods.of(config).savedConfig(config, adapter), tensors, dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write adapter '" + adapter + "' to " + dir + ": " + e.getMessage(),
                    e);
        }
        LOG.info("saved adapter '{}' ({} tensors) to {}", adapter, tensors.size(), dir);
        return List.of(dir.resolve(CONFIG_FILE), dir.resolve(WEIGHTS_FILE));
    }

    private static void writeAtomically(AdapterConfig config, Map<String, TensorData> tensors, Path dir)
            throws IOException {
        Path target = dir.toAbsolutePath();
        if (Files.isDirectory(target)) {
            SafetensorsWriter.write(target.resolve(WEIGHTS_FILE), tensors, Map.of("format", "pt"));
            Path configFile = target.resolve(CONFIG_FILE);
            if (!Files.isRegularFile(configFile)
                    || !AdapterConfigs.toJson(config).equals(Files.readString(configFile, StandardCharsets.UTF_8))) {
                AdapterConfigs.write(config, target);
            }
            return;
        }
        Files.createDirectories(target.getParent());
        // createDirectory (not createTempDirectory, which makes it 700): the umask's permissions, as any directory
        Path tmp = Files.createDirectory(target.resolveSibling("." + target.getFileName() + ".tmp-"
                + UUID.randomUUID()));
        try {
            AdapterConfigs.write(config, tmp);
            SafetensorsWriter.write(tmp.resolve(WEIGHTS_FILE), tensors, Map.of("format", "pt"));
            syncDirectory(tmp);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target);
            }
            syncDirectory(target.getParent());
        } finally {
            if (Files.isDirectory(tmp)) {
                for (String name : List.of(CONFIG_FILE, WEIGHTS_FILE)) {
                    Files.deleteIfExists(tmp.resolve(name));
                }
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** Makes a directory's entries durable (best effort: not every file system can sync a directory). */
    private static void syncDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            LOG.debug("cannot sync directory {}: {}", dir, e.toString());
        }
    }

    /**
     * Reads every tensor of an adapter's weights file into {@code manager} (BF16 as float32; with
     * {@code allFloat32} every tensor), refusing before anything reaches a model a file that breaks the
     * safetensors format or holds NaN or infinite values.
     *
     * @throws AdapterFileException naming the file (and the tensor)
     */
    public static Map<String, NDArray> readTensors(Path file, NDManager manager, boolean allFloat32) {
        SafetensorsFile weights = readFile(file);
        Map<String, NDArray> stateDict = new LinkedHashMap<>();
        weights.tensors().forEach((name, tensor) -> stateDict.put(name, TensorArrays.toNDArray(
                tensor.dtype() == SafetensorsDType.BF16 || allFloat32 ? tensor.toFloat32() : tensor, manager)));
        for (Map.Entry<String, NDArray> e : stateDict.entrySet()) {
            NDArray a = e.getValue();
            if (a.getDataType().isFloating() && !WeightUpdate.finite(a)) {
                throw new AdapterFileException(file, "tensor '" + e.getKey()
                        + "' holds NaN or infinite values; the adapter is refused", null);
            }
        }
        return stateDict;
    }

    private static SafetensorsFile readFile(Path file) {
        try {
            return SafetensorsFile.read(file);
        } catch (IOException e) {
            throw refusal(file, e);
        }
    }

    private static AdapterFileException refusal(Path file, IOException e) {
        String prefix = "safetensors file " + file + ": ";
        String detail = e.getMessage() != null && e.getMessage().startsWith(prefix)
                ? e.getMessage().substring(prefix.length()) : "cannot read the file: " + e;
        return new AdapterFileException(file, detail, e);
    }

    /**
     * Checks, before an adapter is injected for {@code dir}'s weights, what can be checked without the model: the
     * weights file's header (format, offsets, sizes), and that the config's ranks ({@code r}, {@code init_r},
     * {@code rank_pattern}) appear among the file's dimensions, so that a config claiming a rank of 2^31 is refused
     * before it allocates factors no file of this size could fill.
     *
     * @throws AdapterFileException naming the weights file
     */
    public static void checkBeforeInjection(AdapterConfig config, Path dir) {
        Path file = dir.resolve(WEIGHTS_FILE);
        SafetensorsHeader header;
        try {
            header = SafetensorsHeader.read(file);
        } catch (IOException e) {
            throw refusal(file, e);
        }
        long largest = 0;
        for (TensorEntry entry : header.tensors()) {
            for (long d : entry.shape()) {
                largest = Math.max(largest, d);
            }
        }
        Map<String, Object> ranks = new LinkedHashMap<>();
        for (String key : List.of("r", "init_r")) {
            ranks.put(key, config.jsonValue(key));
        }
        if (config.jsonValue("rank_pattern") instanceof Map) {
            ((Map<?, ?>) config.jsonValue("rank_pattern")).forEach((k, v) -> ranks.put("rank_pattern." + k, v));
        }
        for (Map.Entry<String, Object> rank : ranks.entrySet()) {
            if (rank.getValue() instanceof Number && ((Number) rank.getValue()).doubleValue() > largest) {
                throw new AdapterFileException(file, "the config's " + rank.getKey() + " = " + rank.getValue()
                        + " is larger than every dimension of this file's tensors (largest " + largest
                        + "): the weights cannot fit the adapter; refused before injecting it", null);
            }
        }
    }

    /** Whether {@code dir} holds adapter weights. */
    public static boolean hasWeights(Path dir) {
        return Files.isRegularFile(dir.resolve(WEIGHTS_FILE));
    }

    /**
     * Loads {@code dir/adapter_model.safetensors} into adapter {@code adapter}. Keys the model does not have are
     * reported as a warning (as PEFT does); adapter keys the file lacks are an error, since the adapter would be
     * silently half-initialised; so is a floating-point tensor holding NaN or infinite values. Every refusal comes
     * before any value is copied into the model, whose base weights the file may name too.
     */
    public static StateDictLoadResult loadWeights(ModelAdapters model, String adapter, Path dir) {
        Path file = dir.resolve(WEIGHTS_FILE);
        NDArray anyWeight = model.root().getParameters().valueAt(0).getArray();
        StateDictLoadResult result;
        int count;
        try (NDManager manager = anyWeight.getManager().newSubManager()) {
            Map<String, NDArray> stateDict = readTensors(file, manager, false);
            count = stateDict.size();
            PeftStateDicts.Plan plan;
            try {
                plan = PeftStateDicts.plan(model, adapter, stateDict);
            } catch (IllegalArgumentException e) {
                throw new AdapterFileException(file, e.getMessage(), e);
            }
            result = plan.result();
            if (!result.unexpectedKeys().isEmpty()) {
                LOG.warn("{}: keys that match nothing in the model were ignored: {}", file, result.unexpectedKeys());
            }
            if (!result.missingAdapterKeys().isEmpty()) {
                // refused before any value is written: the file may also name base weights (PEFT loads those too)
                throw new AdapterFileException(file, "missing adapter keys " + result.missingAdapterKeys()
                        + " for adapter '" + adapter + "'", null);
            }
            plan.apply();
        }
        LOG.info("loaded {} tensors of adapter '{}' from {}", count, adapter, file);
        return result;
    }
}
