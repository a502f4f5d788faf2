package io.peft4j.adalora;

import io.peft4j.testmodels.GcSafeL2Loss;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv1d;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.peft4j.Peft;
import io.peft4j.config.PeftConfigException;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.io.SafetensorsFile;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.tuner.ModelAdapters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * AdaLoRA on Conv2d against PEFT 0.20's {@code SVDConv2d} formula written out here: {@code lora_A [r, in*kh*kw]},
 * {@code lora_E [r, 1]}, {@code lora_B [out, r]}, and the output {@code base(x) + conv2d(x, delta)} with
 * {@code delta = (B @ (A * E) * lora_alpha / (ranknum + 1e-5)).reshape(W.shape)} and the base layer's stride, padding
 * and
 * dilation; merging adds the same delta to W.
 */
class SvdConv2dTest extends DjlTestCase {

    private static AdaLoraConfig.Builder adalora() {
        return AdaLoraConfig.adaLoraBuilder().initR(4).targetR(2).totalStep(10).loraAlpha(8)
                .targetModules(List.of("0"));
    }

    private Conv2d.Builder conv(boolean dilated) {
        Conv2d.Builder b = Conv2d.builder().setKernelShape(new Shape(3, 3)).setFilters(6).optStride(new Shape(2, 1))
                .optPadding(new Shape(1, 2));
        return dilated ? b.optDilation(new Shape(2, 2)) : b;
    }

    private SequentialBlock model(boolean dilated, Shape input) {
        SequentialBlock model = new SequentialBlock().add(conv(dilated).build());
        model.initialize(manager, DataType.FLOAT32, input);
        return model;
    }

    private float[] forward(Block block, NDArray x) {
        return block.forward(new ParameterStore(manager, false), new NDList(x), false).head().toFloatArray();
    }

    private static NDArray weight(SequentialBlock model, String name) {
        return model.getChildren().valueAt(0).getParameters().get(name).getArray();
    }

    @Test
    void forwardIsTheBaseConvolutionPlusTheDeltaKernel(@TempDir Path tmp) throws Exception {
        for (boolean dilated : new boolean[] {false, true}) {
            Shape input = new Shape(2, 3, 9, 8);
            SequentialBlock model = model(dilated, input);
            NDArray x = manager.randomNormal(input);
            float[] base = forward(model, x);
            NDArray w = weight(model, "weight");
            NDArray wBefore = w.duplicate();
            ModelAdapters adapters = Peft.injectAdapter(adalora().initLoraWeights(InitLoraWeights.FALSE).build(),
                    model);
            SvdConv2d svd = (SvdConv2d) adapters.tunedModules().get("0").adapter("default");
            NDArray a = svd.loraA().getArray();
            NDArray e = svd.loraE().getArray();
            NDArray b = svd.loraB().getArray();
            assertEquals(new Shape(4, 27), a.getShape(), "lora_A [r, in * kh * kw]");
            assertEquals(new Shape(4, 1), e.getShape(), "lora_E [r, 1]");
            assertEquals(new Shape(6, 4), b.getShape(), "lora_B [out, r]");

            NDArray delta = b.matMul(a.mul(e)).mul((float) (8 / (4 + 1e-5))).reshape(w.getShape());
            SequentialBlock plain = model(dilated, input);
            weight(plain, "weight").set(w.add(delta).toFloatArray());
            weight(plain, "bias").set(weight(model, "bias").toFloatArray());
            float[] expected = forward(plain, x);
            float[] active = forward(model, x);
            // init_lora_weights=false: A, E, B standard normal, outputs of order 10, so float32 rounding is ~1e-5.
            GoldenCase.assertClose(expected, active, 1e-4, "base(x) + conv2d(x, delta), dilated=" + dilated);

            adapters.setAdaptersEnabled(false);
            GoldenCase.assertIdentical(base, forward(model, x), "disabled");
            adapters.setAdaptersEnabled(true);
            adapters.merge(List.of("default"), true);
            GoldenCase.assertClose(w.toFloatArray(), wBefore.add(delta).toFloatArray(), 1e-5, "merged W + delta");
            GoldenCase.assertClose(active, forward(model, x), 1e-4, "merged output");
            adapters.unmerge();
            GoldenCase.assertClose(wBefore.toFloatArray(), w.toFloatArray(), 1e-5, "unmerge restores W");

            Path dir = tmp.resolve("dilated-" + dilated);
            Peft.saveAdapter(model, dir);
            assertEquals(List.of("0.lora_A", "0.lora_B", "0.lora_E"),
                    new ArrayList<>(SafetensorsFile.read(dir.resolve("adapter_model.safetensors")).names()),
                    "PEFT's SVDConv2d keys (ranknum not saved)");
            SequentialBlock fresh = model(dilated, input);
            weight(fresh, "weight").set(wBefore.toFloatArray());
            weight(fresh, "bias").set(weight(model, "bias").toFloatArray());
            Peft.loadAdapter(fresh, dir);
            GoldenCase.assertClose(active, forward(fresh, x), 1e-5, "reloaded");
        }
    }

    @Test
    void rankAllocationRunsOnConvolutions() {
        Shape input = new Shape(8, 3, 6, 6);
        AdaLoraConfig config = adalora().tinit(2).tfinal(2).deltaT(1).orthRegWeight(0.1).build();
        try (Model model = Model.newInstance("adalora-conv")) {
            SequentialBlock block = new SequentialBlock().add(conv(false).build());
            model.setBlock(block);
            block.initialize(model.getNDManager(), DataType.FLOAT32, input);
            ModelAdapters adapters = Peft.injectAdapter(config, block);
            DefaultTrainingConfig tc = new DefaultTrainingConfig(new GcSafeL2Loss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.05f)).build());
            try (Trainer trainer = model.newTrainer(tc)) {
                NDArray x = trainer.getManager().randomNormal(input);
                NDArray y = trainer.getManager().randomNormal(new Shape(8, 6, 3, 8));
                for (int step = 0; step < 10; step++) {
                    try (GradientCollector gc = trainer.newGradientCollector()) {
                        gc.backward(trainer.getLoss().evaluate(new NDList(y), trainer.forward(new NDList(x))));
                    }
                    trainer.step();
                }
            }
            Map<String, List<Boolean>> masks = ((AdaLoraConfig) adapters.config("default")).rankMasks();
            assertEquals(List.of("0.lora_E"), List.copyOf(masks.keySet()), "rank_pattern of the conv module");
            long kept = masks.get("0.lora_E").stream().filter(Boolean::booleanValue).count();
            assertEquals(2, kept, "one module: the budget of target_r ranks is all its own");
            float[] values = ((SvdConv2d) adapters.tunedModules().get("0").adapter("default")).loraE().getArray()
                    .toFloatArray();
            for (int i = 0; i < 4; i++) {
                if (!masks.get("0.lora_E").get(i)) {
                    assertEquals(0f, values[i], "masked singular value " + i);
                }
            }
        }
    }

    @Test
    void groupedConv2dAndOtherConvolutionsAreRefused() {
        SequentialBlock grouped = new SequentialBlock().add(Conv2d.builder().setKernelShape(new Shape(3, 3))
                .setFilters(4).optGroups(2).build());
        grouped.initialize(manager, DataType.FLOAT32, new Shape(1, 4, 5, 5));
        PeftConfigException g = assertThrows(PeftConfigException.class,
                () -> Peft.injectAdapter(adalora().build(), grouped));
        assertTrue(g.getMessage().startsWith("AdaLoRA cannot adapt module '0': it is a grouped Conv2d (groups=2)"),
                g.getMessage());

        SequentialBlock conv1d = new SequentialBlock().add(Conv1d.builder().setKernelShape(new Shape(3))
                .setFilters(4).build());
        conv1d.initialize(manager, DataType.FLOAT32, new Shape(1, 3, 7));
        PeftConfigException c = assertThrows(PeftConfigException.class,
                () -> Peft.injectAdapter(adalora().build(), conv1d));
        assertTrue(c.getMessage().contains("ai.djl.nn.core.Linear, ai.djl.nn.convolutional.Conv2d"), c.getMessage());
    }
}
