package io.peft4j.agent.jmx;

import java.util.List;

/**
 * The MXBean {@code io.peft4j:type=Adapters}: what the agent injected into a running application, and operations to
 * change it without a restart. Open types only (a client such as jconsole needs none of peft4j's classes):
 * {@link ModuleInfo} and {@link AdapterInfo} lists appear as {@code CompositeData[]}, results and errors as strings.
 *
 * <p>With several models in the application, every operation acts on all of them: {@code load} on every model the
 * application has used, the others on every model that carries adapters. Each operation checks its request against
 * all models before changing any.
 */
public interface AdaptersMXBean {

    /** The {@code ObjectName} it is registered under. */
    String OBJECT_NAME = "io.peft4j:type=Adapters";

    /** One row per model, module and adapter. */
    List<ModuleInfo> getInjectedModules();

    /** One row per model and adapter. */
    List<AdapterInfo> getAdapters();

    /** The models the agent has seen in use, as {@code id (class): adapters [..], active [..], enabled|disabled}. */
    String[] getModels();

    /** Forward passes of adapted modules intercepted since start. */
    long getInterceptedForwards();

    /**
     * Requests served per adapter through {@code Predictor.predict/batchPredict} with the {@code Input} property
     * {@code requestAdapterProperty}, as {@code NAME=COUNT} ({@code __base__} for the base model).
     */
    String[] getRequestsPerAdapter();

    /**
     * Requests that named an adapter the model does not have and ran on the base model ({@code unknownAdapter=base}).
     */
    long getUnknownAdapterRequests();

    /** Throwables the agent's hooks swallowed so the application kept running (should be 0). */
    long getSuppressedErrors();

    /**
     * Adapter errors per module (failed requests with {@code onError=fail}, base results served with
     * {@code onError=warn}), as {@code module: N error(s), last: what failed and why}.
     */
    String[] getHookErrors();

    /** Errors while instrumenting DJL classes (should be 0). */
    long getTransformErrors();

    /** Where {@code load} finds adapters ({@code adapterRoot}), or "" when load is disabled. */
    String getAdapterRoot();

    /** Where {@code dump} writes ({@code dumpDir}), or "" when dump is disabled. */
    String getDumpDir();

    /**
     * Activates adapters on every adapted model.
     *
     * @param names one name, or several joined with {@code +}
     * @return what was done
     */
    String activate(String names);

    /** Disables the adapters of every adapted model: outputs equal the base model's. */
    String disableAdapters();

    /** Re-enables the adapters of every adapted model. */
    String enableAdapters();

    /** Merges the active adapters of every adapted model into the base weights. */
    String merge();

    /** Unmerges every adapted model. */
    String unmerge();

    /**
     * Loads {@code adapterRoot/NAME} into every model in use and activates it (hot swap).
     *
     * @param name the adapter name (a plain directory name)
     * @return what was done
     */
    String load(String name);

    /**
     * Writes adapter NAME of every model that has it into {@code dumpDir/NAME}.
     *
     * @param name the adapter name (a plain directory name; never a path)
     * @return the files written
     */
    String dump(String name);

    /**
     * PEFT's {@code add_weighted_adapter} on every model that has all ADAPTERS ({@code a+b}): adds adapter NAME
     * combining them with WEIGHTS ({@code 0.7,0.3}); TYPE is PEFT's {@code combination_type} ({@code ties},
     * {@code dare_linear}, {@code svd}, ...; empty: PEFT's default), OPTIONS are {@code key=value} pairs
     * ({@code density=0.5,majority_sign_method=total,svd_rank=8,svd_clamp=0.99,seed=1}). Not activated.
     */
    String combine(String name, String adapters, String weights, String type, String options);

    /**
     * The module tree of every model in use, or of model {@code model} (its id as in {@link #getModels()},
     * {@code Mlp#1}; empty for all): every module path with its block class, parameter shapes (PyTorch's names)
     * and the adapters it carries, one line each.
     */
    String tree(String model);

    /** Disables and deletes every adapter of every model; no further model is adapted. */
    String removeAll();
}
