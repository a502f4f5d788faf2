package io.peft4j.agent.jmx;

import io.peft4j.agent.AdapterControl;
import io.peft4j.instrument.AdviceErrors;
import io.peft4j.instrument.ForwardHooks;
import io.peft4j.instrument.PeftInstrumentation;
import io.peft4j.instrument.RequestHooks;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The implementation of {@link AdaptersMXBean}: a thin layer over {@link AdapterControl}. A failed operation reaches
 * the client as a plain {@link IllegalArgumentException} or {@link IllegalStateException} with a message and no
 * cause, so that a client without peft4j's or DJL's classes can read it.
 */
public final class AdaptersBean implements AdaptersMXBean {

    private final AdapterControl control;
    private final Supplier<String[]> models;

    /**
     * Creates the bean.
     *
     * @param control the operations
     * @param models describes the models in use, one line each
     */
    public AdaptersBean(AdapterControl control, Supplier<String[]> models) {
        this.control = control;
        this.models = models;
    }

    @Override
    public List<ModuleInfo> getInjectedModules() {
        return call(() -> {
            List<ModuleInfo> out = new ArrayList<>();
            for (AdapterControl.ModuleRow r : control.modules()) {
                out.add(new ModuleInfo(r.model(), r.path(), r.blockClass(), r.adapterName(), r.adapterType(),
                        r.rank(), r.scaling(), r.trainableParameters()));
            }
            return out;
        });
    }

    @Override
    public List<AdapterInfo> getAdapters() {
        return call(() -> {
            List<AdapterInfo> out = new ArrayList<>();
            for (AdapterControl.AdapterRow r : control.adapters()) {
                out.add(new AdapterInfo(r.model(), r.name(), r.type(), r.active(), r.enabled(), r.merged(),
                        r.parameterCount(), r.l2Norm(), r.memoryBytes()));
            }
            return out;
        });
    }

    @Override
    public String tree(String model) {
        return call(() -> control.tree(model));
    }

    @Override
    public String[] getModels() {
        return call(models::get);
    }

    @Override
    public long getInterceptedForwards() {
        return ForwardHooks.interceptedForwards();
    }

    @Override
    public String[] getRequestsPerAdapter() {
        return RequestHooks.requestCounts().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .toArray(String[]::new);
    }

    @Override
    public long getUnknownAdapterRequests() {
        return RequestHooks.fallbacks();
    }

    @Override
    public long getSuppressedErrors() {
        return AdviceErrors.count();
    }

    @Override
    public String[] getHookErrors() {
        return AdviceErrors.byModule().entrySet().stream()
                .map(e -> e.getKey() + ": " + e.getValue().count() + " error(s), last: " + e.getValue().lastError())
                .toArray(String[]::new);
    }

    @Override
    public long getTransformErrors() {
        return PeftInstrumentation.transformErrors();
    }

    @Override
    public String getAdapterRoot() {
        return control.adapterRoot() == null ? "" : control.adapterRoot().toString();
    }

    @Override
    public String getDumpDir() {
        return control.dumpDir() == null ? "" : control.dumpDir().toString();
    }

    @Override
    public String activate(String names) {
        return call(() -> control.activate(names));
    }

    @Override
    public String disableAdapters() {
        return call(() -> control.setEnabled(false));
    }

    @Override
    public String enableAdapters() {
        return call(() -> control.setEnabled(true));
    }

    @Override
    public String merge() {
        return call(control::merge);
    }

    @Override
    public String unmerge() {
        return call(control::unmerge);
    }

    @Override
    public String load(String name) {
        return call(() -> control.load(name));
    }

    @Override
    public String dump(String name) {
        return call(() -> control.dump(name));
    }

    @Override
    public String combine(String name, String adapters, String weights, String type, String options) {
        return call(() -> control.combine(name, adapters, weights, type, options));
    }

    @Override
    public String removeAll() {
        return call(control::removeAll);
    }

    /** Runs {@code action}, turning any failure into a JDK exception that carries only a message. */
    private static <T> T call(Supplier<T> action) {
        try {
            return action.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            throw new IllegalStateException(e.getMessage() != null ? e.getMessage() : e.toString());
        }
    }
}
