package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.transformer.IdEmbedding;
import io.peft4j.Peft;
import io.peft4j.config.PeftConfigException;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.layer.WeightUpdate;
import io.peft4j.tuner.ModelAdapters;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code lora_bias} beyond golden case h1 (LoRA on Linear, in {@code GoldenCasesTest}): on a convolution, without a
 * base bias, and on an embedding, as PEFT 0.20's {@code lora.ConvNd}, {@code lora.Linear.merge} and
 * {@code lora.Embedding.update_layer} handle it.
 */
class LoraBiasTest extends DjlTestCase {

    private static LoraConfig config(boolean loraBias) {
        return LoraConfig.builder().r(2).loraAlpha(6).targetModules(List.of("0")).loraBias(loraBias)
                .initLoraWeights(InitLoraWeights.FALSE).build();
    }

    private float[] forward(SequentialBlock model, NDArray x) {
        return GoldenCase.forward(model, x, manager);
    }

    /** lora.ConvNd.forward: {@code lora_B(lora_A(x)) * scaling}, lora_B a 1x1 conv with bias; merge adds it too. */
    @Test
    void onAConvolutionTheBiasIsScaledAddedAndMerged() {
        SequentialBlock model = new SequentialBlock().add(Conv2d.builder().setKernelShape(new Shape(3, 3))
                .setFilters(5).optPadding(new Shape(1, 1)).build());
        model.initialize(manager, DataType.FLOAT32, new Shape(2, 3, 6, 6));
        NDArray x = manager.randomNormal(new Shape(2, 3, 6, 6));
        float[] base = forward(model, x);
        ModelAdapters adapters = Peft.injectAdapter(config(true), model);
        LoraConvolution adapter = (LoraConvolution) adapters.tunedModules().get("0").adapter("default");
        assertEquals(List.of("lora_A.default.weight", "lora_B.default.weight", "lora_B.default.bias"),
                List.copyOf(adapter.parameters().keySet()));
        assertEquals(List.of("0.lora_A.weight", "0.lora_B.weight", "0.lora_B.bias"),
                List.copyOf(Peft.getStateDict(model).keySet()));
        // with A = 0 only the bias is left: output - base = bias * scaling (3.0) on every pixel of its channel
        NDArray a = adapter.loraA().getArray();
        NDArray savedA = a.duplicate();
        WeightUpdate.copyInto(a, a.zerosLike());
        float[] bias = adapter.loraBBias().getArray().toFloatArray();
        float[] out = forward(model, x);
        float[] expected = new float[base.length];
        for (int i = 0; i < base.length; i++) {
            expected[i] = base[i] + bias[(i / 36) % 5] * 3.0f;
        }
        GoldenCase.assertClose(expected, out, 1e-5, "base + lora_B.bias * scaling");
        WeightUpdate.copyInto(a, savedA);
        float[] active = forward(model, x);
        adapters.merge(List.of("default"), true);
        GoldenCase.assertClose(active, forward(model, x), 1e-4, "merged (weight and bias)");
        adapters.unmerge();
        adapters.setAdaptersEnabled(false);
        GoldenCase.assertClose(base, forward(model, x), 1e-5, "unmerged: base weights and bias restored");
    }

    /** lora.Linear.merge: no base bias, so PEFT raises; peft4j refuses before changing the weight. */
    @Test
    void mergingWithoutABaseBiasIsRefused() {
        SequentialBlock model = new SequentialBlock().add(Linear.builder().setUnits(4).optBias(false).build());
        model.initialize(manager, DataType.FLOAT32, new Shape(2, 3));
        NDArray x = manager.randomNormal(new Shape(2, 3));
        ModelAdapters adapters = Peft.injectAdapter(config(true), model);
        float[] active = forward(model, x);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> adapters.merge(List.of("default"), true));
        assertTrue(e.getMessage().startsWith("Impossible to merge LoRA with `lora_bias=True` because the base layer "
                + "has no bias."), e.getMessage());
        GoldenCase.assertClose(active, forward(model, x), 1e-6, "nothing merged");
    }

    /** lora.Embedding.update_layer raises {@code lora_bias=True is not supported for Embedding.} */
    @Test
    void anEmbeddingRefusesIt() {
        SequentialBlock model = new SequentialBlock().add(new IdEmbedding.Builder().setDictionarySize(10)
                .setEmbeddingSize(4).build());
        model.initialize(manager, DataType.FLOAT32, new Shape(2, 3));
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> Peft.injectAdapter(config(true), model));
        assertTrue(e.getMessage().contains("lora_bias=True is not supported for Embedding."), e.getMessage());
    }
}
