package io.peft4j.tuner;

import ai.djl.modality.nlp.embedding.TrainableWordEmbedding;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv1d;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.convolutional.Conv3d;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import io.peft4j.Peft;
import io.peft4j.config.PeftConfigException;
import io.peft4j.golden.GoldenCase;
import io.peft4j.ia3.IA3Config;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.lora.LoraConfig;
import io.peft4j.lora.LoraEmbedding;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Adapter types beyond the golden cases: LoRA on the {@code Embedding} family, Conv1d and Conv3d, grouped and dilated
 * convolutions, IA3 on convolutions, unsupported blocks. Each check compares two independent computations: the
 * forward formula against the merged weights (built from {@code deltaWeight}), or against a formula written here.
 */
class AdapterTypesTest {

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private float[] forward(Block block, NDArray x) {
        return block.forward(new ParameterStore(manager, false), new NDList(x), false).head().toFloatArray();
    }

    private static LoraConfig lora(String target) {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules(List.of(target))
                .initLoraWeights(InitLoraWeights.FALSE).build();
    }

    /** Active output, then merged output equal to it, then unmerge restoring the base weights. */
    private void mergeAgrees(Block model, NDArray x, ModelAdapters adapters, String what) {
        float[] active = forward(model, x);
        adapters.setAdaptersEnabled(false);
        float[] base = forward(model, x);
        adapters.setAdaptersEnabled(true);
        double diff = 0;
        for (int i = 0; i < base.length; i++) {
            diff = Math.max(diff, Math.abs(base[i] - active[i]));
        }
        assertTrue(diff > 1e-3, what + ": the adapter changes the output");
        adapters.merge(adapters.activeAdapters(), true);
        GoldenCase.assertClose(active, forward(model, x), 1e-4, what + " merged");
        adapters.unmerge();
        GoldenCase.assertClose(active, forward(model, x), 1e-4, what + " unmerged");
        adapters.setAdaptersEnabled(false);
        GoldenCase.assertClose(base, forward(model, x), 1e-5, what + " base weights restored");
        adapters.setAdaptersEnabled(true);
    }

    @Test
    void loraOnTrainableWordEmbedding() {
        NDArray table = manager.randomNormal(new Shape(6, 4));
        SequentialBlock model = new SequentialBlock()
                .add(TrainableWordEmbedding.fromPretrained(table, List.of("a", "b", "c", "d", "e", "f")));
        model.initialize(manager, DataType.FLOAT32, new Shape(2, 3));
        ModelAdapters adapters = Peft.injectAdapter(lora("0"), model);
        LoraEmbedding lora = (LoraEmbedding) adapters.tunedModules().get("0").adapter("default");
        NDArray ids = manager.create(new long[] {0, 3, 5, 1, 1, 2}, new Shape(2, 3));
        NDArray a = lora.loraA().getArray();
        NDArray b = lora.loraB().getArray();
        float[] expected = table.get(ids.flatten()).add(a.transpose().get(ids.flatten()).matMul(b.transpose()).mul(2f))
                .toFloatArray();
        GoldenCase.assertClose(expected, forward(model, ids), 1e-5, "base(ids) + A^T[ids] B^T * 2");
        mergeAgrees(model, ids, adapters, "embedding");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void loraOnConv1dAndConv3d(int dims) {
        Block conv = dims == 1
                ? Conv1d.builder().setKernelShape(new Shape(3)).setFilters(6).optStride(new Shape(2))
                        .optPadding(new Shape(1)).build()
                : Conv3d.builder().setKernelShape(new Shape(2, 3, 3)).setFilters(6).optPadding(new Shape(0, 1, 1))
                        .build();
        SequentialBlock model = new SequentialBlock().add(conv);
        Shape input = dims == 1 ? new Shape(2, 5, 9) : new Shape(2, 5, 4, 6, 6);
        model.initialize(manager, DataType.FLOAT32, input);
        ModelAdapters adapters = Peft.injectAdapter(lora("0"), model);
        mergeAgrees(model, manager.randomNormal(input), adapters, "conv" + dims + "d");
    }

    @Test
    void groupedAndDilatedConvolutionsFollowPeft() {
        SequentialBlock grouped = new SequentialBlock().add(Conv2d.builder().setKernelShape(new Shape(3, 3))
                .setFilters(4).optGroups(2).optPadding(new Shape(1, 1)).build());
        grouped.initialize(manager, DataType.FLOAT32, new Shape(1, 4, 5, 5));
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> Peft.injectAdapter(
                LoraConfig.builder().r(3).targetModules(List.of("0")).build(), grouped));
        assertTrue(e.getMessage().contains("Targeting a Conv2d with groups=2 and rank 3"), e.getMessage());
        ModelAdapters adapters = Peft.injectAdapter(lora("0"), grouped);
        float[] out = forward(grouped, manager.randomNormal(new Shape(1, 4, 5, 5)));
        assertTrue(out.length == 4 * 25);
        UnsupportedOperationException m = assertThrows(UnsupportedOperationException.class,
                () -> adapters.merge(List.of("default"), true));
        assertTrue(m.getMessage().startsWith("Merging is not supported for _ConvNd layers with groups > 1!"));

        SequentialBlock dilated = new SequentialBlock().add(Conv2d.builder().setKernelShape(new Shape(3, 3))
                .setFilters(4).optDilation(new Shape(2, 2)).build());
        dilated.initialize(manager, DataType.FLOAT32, new Shape(1, 3, 9, 9));
        PeftConfigException d = assertThrows(PeftConfigException.class, () -> Peft.injectAdapter(lora("0"), dilated));
        assertTrue(d.getMessage().contains("dilated convolution"), d.getMessage());
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void ia3OnConv2d(boolean feedforward) {
        SequentialBlock model = new SequentialBlock().add(Conv2d.builder().setKernelShape(new Shape(3, 3))
                .setFilters(6).optPadding(new Shape(1, 1)).build());
        model.initialize(manager, DataType.FLOAT32, new Shape(2, 3, 5, 5));
        IA3Config config = IA3Config.builder().targetModules(List.of("0"))
                .feedforwardModules(feedforward ? List.of("0") : List.of()).initIa3Weights(false).build();
        ModelAdapters adapters = Peft.injectAdapter(config, model);
        NDArray l = adapters.tunedModules().get("0").adapter("default").parameters().get("ia3_l.default")
                .getArray();
        assertTrue(l.getShape().equals(feedforward ? new Shape(1, 3, 1, 1) : new Shape(1, 6, 1, 1)), "" + l.getShape());
        mergeAgrees(model, manager.randomNormal(new Shape(2, 3, 5, 5)), adapters, "ia3 conv ff=" + feedforward);
    }

    @Test
    void unsupportedBlockIsNamed() {
        SequentialBlock model = new SequentialBlock().add(LayerNorm.builder().build());
        model.initialize(manager, DataType.FLOAT32, new Shape(2, 4));
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> Peft.injectAdapter(lora("0"), model));
        assertTrue(e.getMessage().startsWith("Target module '0' (ai.djl.nn.norm.LayerNorm) is not supported"),
                e.getMessage());
        assertFalse(Peft.adapters(model).map(m -> m.adapterNames().contains("default")).orElse(false));
    }
}
