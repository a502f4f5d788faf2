package io.peft4j.ia3;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.peft4j.Peft;
import io.peft4j.golden.DjlTestCase;
import io.peft4j.golden.GoldenCase;
import io.peft4j.layer.WeightUpdate;
import io.peft4j.testmodels.Mlp;
import io.peft4j.tuner.ModelAdapters;
import java.util.List;
import org.junit.jupiter.api.Test;

/** IA3 paths beyond the golden cases, as PEFT 0.20's {@code IA3Model} and {@code ia3.Linear} take them. */
class Ia3EdgeCasesTest extends DjlTestCase {

    /** IA3Model._check_target_module_feedforward: re.fullmatch of a Python regex, named groups included. */
    @Test
    void feedforwardModulesAcceptPythonRegexSyntax() {
        Mlp mlp = new Mlp();
        mlp.initialize(manager, DataType.FLOAT32, mlp.sampleInputShape());
        ModelAdapters adapters = Peft.injectAdapter(IA3Config.builder().targetModules("fc[12]")
                .feedforwardModules("(?P<layer>fc)2").build(), mlp);
        assertEquals(new ai.djl.ndarray.types.Shape(1, 32), adapters.tunedModules().get("fc2").adapter("default")
                .parameters().get("ia3_l.default").getArray().getShape(), "fc2 scales its input");
        assertEquals(false, ((Ia3Adapter) adapters.tunedModules().get("fc1").adapter("default")).isFeedforward());
        assertEquals(true, ((Ia3Adapter) adapters.tunedModules().get("fc2").adapter("default")).isFeedforward());
    }

    /** ia3.Linear.merge(safe_merge=True) only checks for NaN/Inf: a zero in ia3_l merges (old code refused it). */
    @Test
    void safeMergeAcceptsZeroEntries() {
        Mlp mlp = new Mlp();
        mlp.initialize(manager, DataType.FLOAT32, mlp.sampleInputShape());
        NDArray x = manager.randomNormal(mlp.sampleInputShape());
        ModelAdapters adapters = Peft.injectAdapter(IA3Config.builder().targetModules(List.of("fc1"))
                .feedforwardModules(List.of()).build(), mlp);
        NDArray l = adapters.tunedModules().get("fc1").adapter("default").parameters().get("ia3_l.default")
                .getArray();
        float[] values = new float[32];
        for (int i = 0; i < values.length; i++) {
            values[i] = i % 4 == 0 ? 0f : 1f + 0.1f * i;
        }
        WeightUpdate.copyInto(l, manager.create(values).reshape(32, 1));
        float[] active = GoldenCase.forward(mlp, x, manager);
        adapters.merge(List.of("default"), true);
        GoldenCase.assertClose(active, GoldenCase.forward(mlp, x, manager), 1e-5, "merged with zero entries");
    }
}
