package io.peft4j.traced;

import ai.djl.Model;
import ai.djl.nn.Block;
import io.peft4j.io.SafetensorsWriter;
import io.peft4j.io.TensorArrays;
import io.peft4j.io.TensorData;
import io.peft4j.log.PeftLog;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Offline merge: loads a TorchScript file, merges adapters into its weights in the order given and writes the result
 * as a new TorchScript file (DJL writes the loaded module back; code, attributes and buffers are the original's) or
 * as a safetensors file of the merged parameters under PyTorch's names. The result needs no peft4j at all.
 */
public final class TorchScriptMerge {

    private static final PeftLog LOG = PeftLog.get(TorchScriptMerge.class);

    /** What to write. */
    public enum Format {
        /** A TorchScript file, loadable by {@code torch.jit.load} and DJL's {@code Criteria}. */
        TORCHSCRIPT,
        /** The merged parameters only, under PyTorch's names ({@code h.0.attn.c_attn.weight}). */
        SAFETENSORS;

        /** {@code torchscript} or {@code safetensors}. */
        public static Format of(String name) {
            for (Format f : values()) {
                if (f.name().equalsIgnoreCase(name)) {
                    return f;
                }
            }
            throw new IllegalArgumentException("unknown format '" + name + "' (torchscript or safetensors)");
        }
    }

    /**
     * What was written.
     *
     * @param output the file written
     * @param adapters the adapters merged, in order
     * @param modules the modules (and replaced parameters) changed
     * @param bytes the file's size
     */
    public record Result(Path output, List<String> adapters, int modules, long bytes) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "merged %s into %d modules; wrote %s (%d bytes)", adapters, modules,
                    output, bytes);
        }
    }

    private TorchScriptMerge() {}

    /**
     * Merges {@code adapters} (name to directory, merged in this order) into the TorchScript model {@code model} and
     * writes {@code out} in {@code format}. {@code out} is written through a temporary file and moved into place.
     *
     * @throws IllegalArgumentException PEFT-style when an adapter does not fit the model
     * @throws IOException when a file cannot be read or written
     */
    public static Result merge(Path model, Map<String, Path> adapters, Path out, Format format) throws IOException {
        return merge(model, adapters, new ArrayList<>(adapters.keySet()), out, format);
    }

    /**
     * As {@link #merge(Path, Map, Path, Format)}, merging only {@code active} (in that order); the other adapters
     * are read first (an IA3 adapter fixes its layers' feed-forward flags for later ones, as in PEFT).
     */
    public static Result merge(Path model, Map<String, Path> adapters, List<String> active, Path out, Format format)
            throws IOException {
        if (adapters.isEmpty()) {
            throw new IllegalArgumentException("no adapter to merge");
        }
        if (!Files.isRegularFile(model)) {
            throw new IllegalArgumentException("model file " + model.toAbsolutePath() + " does not exist");
        }
        try (Model loaded = loadModel(model)) {
            Block block = loaded.getBlock();
            TracedModel traced = TracedModels.forBlock(block);
            try {
                traced.setLabel(model.getFileName().toString());
                adapters.forEach((name, dir) -> traced.load(dir, name));
                traced.setActiveAdapters(active);
                int modules = traced.mergedModules().size();
                Path target = out.toAbsolutePath();
                if (target.getParent() != null) {
                    Files.createDirectories(target.getParent());
                }
                if (format == Format.SAFETENSORS) {
                    Map<String, TensorData> tensors = new LinkedHashMap<>();
                    traced.structure().parameters().forEach((name, p) -> tensors.put(name,
                            TensorArrays.fromNDArray(p.getArray())));
                    SafetensorsWriter.write(target, tensors, Map.of("format", "pt"));
                } else {
                    writeTorchScript(block, target);
                }
                Result result = new Result(target, List.copyOf(active), modules, Files.size(target));
                LOG.info("{}", result);
                return result;
            } finally {
                for (String name : traced.adapterNames()) {
                    traced.adapter(name).close();
                }
                TracedModels.remove(block);
            }
        }
    }

    /**
     * Loads a TorchScript file as {@link #mergeFiles} does (offline, parameters trainable so that they can be
     * changed in place); the caller closes the model.
     *
     * @throws IllegalArgumentException when the file is not a TorchScript module
     */
    public static Model loadModel(Path file) throws IOException {
        Model model = Model.newInstance(file.getFileName().toString(), "PyTorch");
        try {
            TracedLoading.ownLoad(() -> {
                model.load(file.toAbsolutePath(), null, Map.of(TracedLoading.TRAIN_PARAM, "true"));
                return null;
            });
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        } catch (Exception e) {
            model.close();
            throw new IOException("cannot load " + file + ": " + e, e);
        }
        if (!TracedModels.isTraced(model.getBlock())) {
            model.close();
            throw new IllegalArgumentException(file + " is not a TorchScript module");
        }
        return model;
    }

    /**
     * Writes the TorchScript module of {@code block}. DJL's {@code SymbolBlock.saveParameters} writes a version byte
     * and the module's length (8 bytes, big-endian) before the module file itself; those 9 bytes are dropped and the
     * length is checked. Written to a temporary file beside {@code target}, synced, then renamed over it: a reader
     * (or a process killed meanwhile) sees the old complete file or the new one.
     */
    static void writeTorchScript(Block block, Path target) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + "." + System.nanoTime() + ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                HeaderStripper body = new HeaderStripper(new BufferedOutputStream(Channels.newOutputStream(channel)));
                block.saveParameters(new DataOutputStream(body));
                body.check();
                body.flush();
                channel.force(true); // on disk before the rename makes it the target
            }
            try {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Drops DJL's 9-byte prefix (version, length) and counts the module's bytes against the length. */
    private static final class HeaderStripper extends FilterOutputStream {
        private final byte[] header = new byte[9];
        private int headerBytes;
        private long body;

        HeaderStripper(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            if (headerBytes < header.length) {
                header[headerBytes++] = (byte) b;
            } else {
                out.write(b);
                body++;
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0 && headerBytes < header.length) {
                header[headerBytes++] = b[off++];
                len--;
            }
            if (len > 0) {
                out.write(b, off, len);
                body += len;
            }
        }

        void check() throws IOException {
            long length = 0;
            for (int i = 1; i < header.length; i++) {
                length = length << 8 | (header[i] & 0xFF);
            }
            if (headerBytes < header.length || length != body || body < 4) {
                throw new IOException("DJL wrote an unexpected TorchScript stream (prefix " + headerBytes
                        + " bytes, declared length " + length + ", module bytes " + body + ")");
            }
        }
    }

    /**
     * The command line's entry (called reflectively by {@code java -jar peft4j-agent.jar merge}, possibly from a
     * class loader that holds DJL): returns the result's description.
     *
     * @param model the TorchScript file
     * @param names the adapter names, in merge order
     * @param dirs their directories
     * @param active the adapters to merge, in order ({@code null}: all, in the order given)
     * @param out the file to write
     * @param format {@code torchscript} or {@code safetensors}
     */
    public static String mergeFiles(String model, List<String> names, List<String> dirs, List<String> active,
            String out, String format) throws IOException {
        Map<String, Path> adapters = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            if (adapters.put(names.get(i), Path.of(dirs.get(i))) != null) {
                throw new IllegalArgumentException("adapter name '" + names.get(i) + "' is given twice");
            }
        }
        try {
            return merge(Path.of(model), adapters, active == null ? names : active, Path.of(out), Format.of(format))
                    .toString();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
