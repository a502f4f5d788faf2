package io.peft4j.traced;

import ai.djl.Model;
import ai.djl.nn.Block;
import io.peft4j.log.PeftLog;
import io.peft4j.tuner.WeakIdentityMap;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * What happens around an application's {@code PtModel.load} when adapters may be merged into traced models. DJL
 * loads a TorchScript module's parameters as inference tensors unless the load option {@code trainParam} is
 * {@code true}, and inference tensors cannot be updated in place; so while {@link #setTrainableParameters} is on, a
 * load that does not ask for {@code trainParam} gets it, and after the load (and the merge) the parameters are frozen
 * again, as DJL leaves them without {@code trainParam}. Forward passes in inference run under libtorch's
 * inference mode either way; the only difference is that the weights can be changed later (live swap).
 */
public final class TracedLoading {

    /** DJL's load option. */
    public static final String TRAIN_PARAM = "trainParam";

    private static final PeftLog LOG = PeftLog.get(TracedLoading.class);
    private static final WeakIdentityMap<Object, Boolean> FORCED = new WeakIdentityMap<>();
    private static final ThreadLocal<Boolean> OWN_LOAD = new ThreadLocal<>();
    private static volatile boolean trainableParameters;

    private TracedLoading() {}

    /** Turns the {@code trainParam} override on (the agent does when it has adapters to merge) or off. */
    public static void setTrainableParameters(boolean on) {
        trainableParameters = on;
    }

    /** The options a {@code PtModel.load} of {@code model} should use instead of {@code options}. */
    public static Object options(Object model, Object options) {
        if (!trainableParameters || isPeft4jLoad() || options != null && !(options instanceof Map)) {
            return options;
        }
        Map<?, ?> given = (Map<?, ?>) options;
        if (given != null && Boolean.parseBoolean(String.valueOf(given.get(TRAIN_PARAM)))) {
            return options;
        }
        Map<Object, Object> copy = given == null ? new HashMap<>() : new HashMap<>(given);
        copy.put(TRAIN_PARAM, "true");
        FORCED.put(model, Boolean.TRUE);
        LOG.debug("loading with {}=true so that adapters can be merged into a traced model in place", TRAIN_PARAM);
        return copy;
    }

    /** After the load (and the merge): a traced model loaded with a forced {@code trainParam} is frozen again. */
    public static void loaded(Object model) {
        if (FORCED.remove(model) == null || !(model instanceof Model)) {
            return;
        }
        Block block = ((Model) model).getBlock();
        if (TracedModels.isTraced(block)) {
            block.freezeParameters(true);
        }
    }

    /** Whether the current thread is loading a model for peft4j itself (offline merge): the agent leaves it alone. */
    public static boolean isPeft4jLoad() {
        return OWN_LOAD.get() != null;
    }

    /** Runs {@code load} as peft4j's own load (see {@link #isPeft4jLoad()}). */
    static <T> T ownLoad(Callable<T> load) throws Exception {
        OWN_LOAD.set(Boolean.TRUE);
        try {
            return load.call();
        } finally {
            OWN_LOAD.remove();
        }
    }
}
