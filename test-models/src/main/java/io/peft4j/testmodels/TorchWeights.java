package io.peft4j.testmodels;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.transformer.IdEmbedding;
import ai.djl.util.Pair;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Loads a PyTorch {@code state_dict} saved as safetensors into a DJL block, strictly like
 * {@code load_state_dict(strict=True)}: every torch key must match one DJL parameter with the same shape.
 *
 * <p>Torch names are derived from the DJL tree: child names lose DJL's ordinal prefix ("01fc1" is "fc1"), the
 * parameter name is kept ("weight", "bias") except {@link IdEmbedding}'s "embedding", which is torch's "weight".
 * Values are copied into the parameters' existing arrays, so the arrays stay the parameters' own (gradient flags
 * and later in-place updates keep working).
 */
public final class TorchWeights {

    private TorchWeights() {}

    /**
     * Initializes {@code root} if needed and copies every tensor of a torch state_dict file into it.
     *
     * @param root the block; a {@link TwinBlock} is initialized with its sample input, any other block must
     *     already be initialized
     * @param safetensorsFile the state_dict file (e.g. {@code base_model.safetensors})
     * @param manager the manager owning the parameters (normally {@code model.getNDManager()})
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException naming every missing, unexpected or wrongly shaped key
     */
    public static void load(Block root, Path safetensorsFile, NDManager manager) throws IOException {
        if (!root.isInitialized()) {
            if (!(root instanceof TwinBlock)) {
                throw new IllegalStateException("Block " + root.getClass().getName()
                        + " is not initialized; initialize it with its input shape before loading torch weights");
            }
            // Parameters are float32 whatever the input type (int64 ids for embeddings only affect the input).
            root.initialize(manager, DataType.FLOAT32, ((TwinBlock) root).sampleInputShape());
        }
        Map<String, Parameter> targets = torchParameters(root);
        try (NDManager scratch = manager.newSubManager()) {
            Map<String, NDArray> tensors = readSafetensors(safetensorsFile, scratch);
            checkStrict(root, safetensorsFile, targets, tensors);
            for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
                copyInto(targets.get(e.getKey()), e.getValue());
            }
        }
    }

    /**
     * Lists a block's parameters under their PyTorch state_dict names, in DJL order.
     *
     * @param root the block
     * @return torch name (e.g. "fc1.weight", "embedding.weight") to DJL parameter
     */
    public static Map<String, Parameter> torchParameters(Block root) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collect(root, "", out);
        return out;
    }

    /**
     * Reads every tensor of a safetensors file with DJL's own decoder ({@code NDList.decode}), which names each
     * array after its header key and skips {@code __metadata__}.
     *
     * @param file the safetensors file
     * @param manager the manager for the arrays
     * @return tensor name to array, in header order
     * @throws IOException if the file cannot be read or is malformed
     */
    public static Map<String, NDArray> readSafetensors(Path file, NDManager manager) throws IOException {
        NDList list;
        try {
            list = NDList.decode(manager, Files.readAllBytes(file));
        } catch (IllegalArgumentException e) {
            throw new IOException("Not a readable safetensors file: " + file, e);
        }
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (NDArray array : list) {
            if (array.getName() == null || out.put(array.getName(), array) != null) {
                throw new IOException("Unnamed or duplicate tensor '" + array.getName() + "' in " + file);
            }
        }
        return out;
    }

    private static void collect(Block block, String prefix, Map<String, Parameter> out) {
        for (Pair<String, Parameter> p : block.getDirectParameters()) {
            String name = block instanceof IdEmbedding && "embedding".equals(p.getKey()) ? "weight" : p.getKey();
            out.put(prefix + name, p.getValue());
        }
        int ordinal = 0;
        for (Pair<String, Block> child : block.getChildren()) {
            String djlName = child.getKey();
            String prefixOrdinal = String.format(Locale.ROOT, "%02d", ++ordinal);
            String torchName = djlName.startsWith(prefixOrdinal) ? djlName.substring(prefixOrdinal.length()) : djlName;
            collect(child.getValue(), prefix + torchName + ".", out);
        }
    }

    private static void checkStrict(
            Block root, Path file, Map<String, Parameter> targets, Map<String, NDArray> tensors) {
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        for (Map.Entry<String, Parameter> t : targets.entrySet()) {
            NDArray src = tensors.get(t.getKey());
            if (src == null) {
                missing.add(t.getKey());
            } else if (!src.getShape().equals(t.getValue().getArray().getShape())) {
                mismatched.add("size mismatch for " + t.getKey() + ": copying a param with shape "
                        + Arrays.toString(src.getShape().getShape())
                        + " from checkpoint, the shape in current model is "
                        + Arrays.toString(t.getValue().getArray().getShape().getShape()));
            }
        }
        for (String key : tensors.keySet()) {
            if (!targets.containsKey(key)) {
                unexpected.add(key);
            }
        }
        if (missing.isEmpty() && unexpected.isEmpty() && mismatched.isEmpty()) {
            return;
        }
        StringBuilder msg = new StringBuilder("Error(s) in loading state_dict from ").append(file)
                .append(" into ").append(root.getClass().getSimpleName()).append(':');
        if (!missing.isEmpty()) {
            msg.append(" Missing key(s): ").append(missing).append('.');
        }
        if (!unexpected.isEmpty()) {
            msg.append(" Unexpected key(s): ").append(unexpected).append('.');
        }
        for (String m : mismatched) {
            msg.append(' ').append(m).append('.');
        }
        msg.append(" Model keys: ").append(targets.keySet());
        throw new IllegalArgumentException(msg.toString());
    }

    private static void copyInto(Parameter parameter, NDArray src) {
        NDArray dst = parameter.getArray();
        NDArray value = src.getDataType() == dst.getDataType() ? src : src.toType(dst.getDataType(), false);
        // A heap copy: NDArray.set copies it into memory owned by dst (no aliasing of the scratch tensor).
        ByteBuffer bytes = ByteBuffer.wrap(value.toByteArray()).order(ByteOrder.nativeOrder());
        dst.set(bytes);
    }
}
