package io.peft4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import io.peft4j.Peft;
import io.peft4j.config.AdapterConfigs;
import io.peft4j.ia3.IA3Config;
import io.peft4j.lora.LoraConfig;
import io.peft4j.match.TargetMatcher;
import io.peft4j.testmodels.Mlp;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link Peft#moduleTree}: every module path with its class, shapes and what targets it. */
class ModuleListingTest {

    @Test
    void listsEveryModuleWithItsShapesAndTheRuleThatTargetsIt() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Mlp mlp = new Mlp();
            assertEquals(String.join("\n", "(root)  Mlp",
                    "  fc1  Linear  weight (not initialised), bias (not initialised)",
                    "  relu1  LambdaBlock",
                    "  fc2  Linear  weight (not initialised), bias (not initialised)",
                    "  relu2  LambdaBlock",
                    "  head  Linear  weight (not initialised), bias (not initialised)",
                    "6 modules (5 leaves)", ""), Peft.moduleTree(mlp).describe());
            mlp.initialize(manager, DataType.FLOAT32, mlp.sampleInputShape());
            LoraConfig config = LoraConfig.builder().targetModules(List.of("fc1", "fc2"))
                    .modulesToSave(List.of("head")).build();
            ModuleListing listing = Peft.moduleTree(mlp, config);
            assertEquals(String.join("\n", "(root)  Mlp",
                    "  fc1  Linear  weight [32, 16], bias [32]  <- targeted: target_modules 'fc1'",
                    "  relu1  LambdaBlock",
                    "  fc2  Linear  weight [32, 32], bias [32]  <- targeted: target_modules 'fc2'",
                    "  relu2  LambdaBlock",
                    "  head  Linear  weight [4, 32], bias [4]  <- excluded: modules_to_save 'head'",
                    "6 modules (5 leaves), 2 targeted", ""), listing.describe());
            assertEquals(List.of("fc1", "fc2", "relu1", "relu2", "head").size(), listing.leafPaths().size());
            assertEquals(List.of(32L, 16L), listing.find("fc1").orElseThrow().parameters().get("weight"));
            // what the listing says is what injection does
            Peft.injectAdapter(config, mlp);
            assertEquals(listing.targetedPaths(), List.copyOf(Peft.tunedModules(mlp).keySet()));
            assertEquals(List.of("fc1", "fc2"), Peft.moduleTree(mlp).targetedPaths());
            assertEquals("targeted: adapters [default]", Peft.moduleTree(mlp).find("fc2").orElseThrow().target());
        }
    }

    @Test
    void explainsLayerFiltersAndUnsupportedTargets() {
        try (NDManager manager = NDManager.newBaseManager()) {
            SequentialBlock layers = new SequentialBlock();
            SequentialBlock model = new SequentialBlock().add(layers);
            for (int i = 0; i < 2; i++) {
                layers.add(new SequentialBlock().add(Linear.builder().setUnits(4).build()));
            }
            model.initialize(manager, DataType.FLOAT32, new ai.djl.ndarray.types.Shape(1, 4));
            LoraConfig config = LoraConfig.builder().targetModules(List.of("0")).build();
            ModuleListing listing = Peft.moduleTree(model, config);
            assertTrue(listing.find("0").orElseThrow().target().startsWith("targeted: target_modules '0' (but LORA"
                    + " does not support SequentialBlock: injection would fail; supported: "),
                    listing.find("0").orElseThrow().target());
            assertEquals("targeted: target_modules '0'", listing.find("0.1.0").orElseThrow().target());
            LoraConfig layered = (LoraConfig) AdapterConfigs.parse("{\"peft_type\": \"LORA\", \"target_modules\":"
                    + " [\"fc1\"], \"layers_to_transform\": [1]}", "test");
            assertEquals("targeted: target_modules 'fc1', layer 1 in layers_to_transform",
                    TargetMatcher.explain(layered, "model.layers.1.fc1"));
            assertEquals("not targeted: target_modules 'fc1' matches, but layer 0 is not in layers_to_transform [1]",
                    TargetMatcher.explain(layered, "model.layers.0.fc1"));
            assertEquals("not targeted: target_modules 'fc1' matches, but the path has no layer index",
                    TargetMatcher.explain(layered, "head.fc1"));
            assertEquals("", TargetMatcher.explain(layered, "model.layers.1.fc2"));
            IA3Config ia3 = IA3Config.builder().targetModules(".*0\\.0").feedforwardModules(List.of()).build();
            assertEquals("targeted: target_modules regex '.*0\\\\.0'",
                    Peft.moduleTree(model, ia3).find("0.0.0").orElseThrow().target());
        }
    }
}
