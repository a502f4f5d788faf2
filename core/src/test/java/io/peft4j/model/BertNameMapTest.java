package io.peft4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.transformer.BertBlock;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import io.peft4j.Peft;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.io.SafetensorsWriter;
import io.peft4j.io.TensorData;
import io.peft4j.lora.LoraConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The built-in {@code bert} name map: a LoRA adapter written with Hugging Face BERT names ({@code query}/{@code value}
 * of layer 1 via {@code layers_to_transform}/{@code layers_pattern}, keys {@code encoder.layer.1.attention.self.
 * query.lora_A.weight}) applied to DJL's {@code BertBlock}, against the same adapter written with DJL's own paths on a
 * second BertBlock with the same weights: same modules, same outputs, and the state dict comes back in HF names.
 */
class BertNameMapTest {

    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void tearDown() {
        NameMap.useByDefault(null);
        manager.close();
    }

    private BertBlock bert() {
        BertBlock b = BertBlock.builder().setTokenDictionarySize(30).optTypeDictionarySize(2)
                .optMaxSequenceLength(6).optEmbeddingSize(8).optHiddenDropoutProbability(0)
                .optTransformerBlockCount(2).optAttentionHeadCount(2).optHiddenSize(16).build();
        b.setInitializer(new NormalInitializer(0.5f), Parameter.Type.WEIGHT);
        b.initialize(manager, DataType.FLOAT32, new Shape(2, 6), new Shape(2, 6), new Shape(2, 6));
        return b;
    }

    private float[] forward(BertBlock b) {
        NDArray ids = manager.create(new float[] {1, 5, 7, 2, 9, 3, 4, 8, 6, 2, 11, 1}, new Shape(2, 6));
        NDArray types = manager.zeros(new Shape(2, 6));
        NDArray mask = manager.ones(new Shape(2, 6));
        return b.forward(new ParameterStore(manager, false), new NDList(ids, types, mask), false).head()
                .toFloatArray();
    }

    /** An adapter directory: the config and r=2 factors for query and value of layer 1 under {@code names}. */
    private static Path adapter(Path dir, String targets, List<String> modules, Random random) throws Exception {
        LoraConfig config = LoraConfig.builder().r(2).loraAlpha(4).targetModules(targets).build();
        AdapterConfigs.write(config, dir);
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        for (String module : modules) {
            tensors.put(module + ".lora_A.weight", TensorData.ofFloats(new long[] {2, 8}, values(random, 16)));
            tensors.put(module + ".lora_B.weight", TensorData.ofFloats(new long[] {8, 2}, values(random, 16)));
        }
        SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
        return dir;
    }

    private static float[] values(Random random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (0.3 * random.nextGaussian());
        }
        return v;
    }

    @Test
    void aHuggingFaceNamedAdapterAppliesToDjlsBertBlockAsTheDjlNamedOne(@TempDir Path tmp) throws Exception {
        BertBlock hfNamed = bert();
        BertBlock djlNamed = bert();
        List<Parameter> from = hfNamed.getParameters().values();
        List<Parameter> to = djlNamed.getParameters().values();
        for (int i = 0; i < from.size(); i++) {
            to.get(i).getArray().set(from.get(i).getArray().toFloatArray());
        }
        float[] base = forward(hfNamed);
        assertArrayEquals(base, forward(djlNamed), "same weights");

        // HF names and PEFT's layer selection; the same tensors under DJL's paths
        Path hf = tmp.resolve("hf");
        Path hfAdapter = adapter(hf, "(.*\\.)?layer\\.1\\.attention\\.self\\.(query|value)", List.of(
                "encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.value"), new Random(7));
        Path djlAdapter = adapter(tmp.resolve("djl"),
                "transformer_1\\.selfAttention\\.(queryProjection|valueProjection)",
                List.of("transformer_1.selfAttention.queryProjection", "transformer_1.selfAttention.valueProjection"),
                new Random(7));

        NameMap.use(hfNamed, NameMap.of(NameMap.BERT));
        Peft.loadAdapter(hfNamed, hfAdapter);
        Peft.loadAdapter(djlNamed, djlAdapter);
        assertEquals(List.of("encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.value"),
                new ArrayList<>(Peft.tunedModules(hfNamed).keySet()));
        assertEquals(List.of("transformer_1.selfAttention.queryProjection",
                "transformer_1.selfAttention.valueProjection"), new ArrayList<>(Peft.tunedModules(djlNamed).keySet()));
        float[] adapted = forward(hfNamed);
        assertArrayEquals(forward(djlNamed), adapted, 1e-5f, "the same modules got the same factors");
        double diff = 0;
        for (int i = 0; i < base.length; i++) {
            diff = Math.max(diff, Math.abs(base[i] - adapted[i]));
        }
        assertTrue(diff > 1e-2, "the adapter changes the output (max diff " + diff + ")");
        assertEquals(new TreeSet<>(List.of("encoder.layer.1.attention.self.query.lora_A.weight",
                "encoder.layer.1.attention.self.query.lora_B.weight",
                "encoder.layer.1.attention.self.value.lora_A.weight",
                "encoder.layer.1.attention.self.value.lora_B.weight")),
                new TreeSet<>(Peft.getStateDict(hfNamed).keySet()), "saved with HF names");
    }

    @Test
    void layersPatternAndSuffixNamesWorkOnMappedNames() throws Exception {
        BertBlock b = bert();
        NameMap.use(b, NameMap.of(NameMap.BERT));
        LoraConfig config = LoraConfig.builder().r(2).loraAlpha(4).targetModules(List.of("query", "value", "dense"))
                .layersToTransform(1).layersPattern("layer").build();
        Peft.injectAdapter(config, b);
        assertEquals(List.of("encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.value",
                "encoder.layer.1.attention.output.dense", "encoder.layer.1.intermediate.dense",
                "encoder.layer.1.output.dense"), new ArrayList<>(Peft.tunedModules(b).keySet()));
    }

    @Test
    void theBertMapAndRuleFiles() {
        NameMap bert = NameMap.of(NameMap.BERT);
        assertEquals("encoder.layer.11.attention.self.key", bert.map("transformer_11.selfAttention.keyProjection"));
        assertEquals("bert.pooler.dense", bert.map("bert.poolingProjection"), "a prefix of whole segments is kept");
        assertEquals("encoder.layer.0.output.LayerNorm", bert.map("transformer_0.outputNorm"));
        assertEquals("classifier", bert.map("classifier"), "no rule: unchanged");
        NameMap custom = NameMap.parse("# comment\nblock(\\d+)\\.proj = layers.$1.fc\n", "test rules");
        assertEquals("model.layers.3.fc.x", custom.map("model.block3.proj.x"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NameMap.parse("a -> b\n", "rules.txt"));
        assertEquals("rules.txt line 1: 'a -> b' is not a rule DJL_REGEX = NAME", e.getMessage());
    }
}
