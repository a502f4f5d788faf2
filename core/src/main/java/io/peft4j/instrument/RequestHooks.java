package io.peft4j.instrument;

import ai.djl.modality.Input;
import ai.djl.nn.Block;
import ai.djl.translate.Translator;
import io.peft4j.tuner.AdapterRegistry;
import io.peft4j.tuner.AdapterSelection;
import io.peft4j.tuner.AdapterSelectionException;
import io.peft4j.tuner.ModelAdapters;

import java.lang.reflect.Field;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per-request adapters for unmodified serving applications: woven around DJL's {@code Predictor.batchPredict(List)}
 * (which {@code predict} calls), it reads the adapter of each request from a property of DJL's {@link Input} and runs
 * the call with it: one adapter for every input as a per-thread {@link AdapterSelection}, different adapters as one
 * mixed batch (input {@code i} is row {@code i} of the batch the Translator's Batchifier stacks). Off until
 * {@link #configure} names the property (the agent does, with {@code requestAdapterProperty}).
 *
 * <p>An input without the property runs with the model's active adapter. An adapter the model does not have fails
 * the call with {@link AdapterSelectionException}, or, with {@code fallbackToBase}, runs that input on the base model
 * and is counted ({@link #fallbacks()}).
 */
public final class RequestHooks {

    private static final Object NONE = new Object();
    private static final ThreadLocal<ArrayDeque<Object>> OPEN = ThreadLocal.withInitial(ArrayDeque::new);
    private static final Map<String, LongAdder> REQUESTS = new ConcurrentHashMap<>();
    private static final LongAdder FALLBACKS = new LongAdder();
    private static volatile String property;
    private static volatile boolean fallbackToBase;
    private static volatile Field blockField;
    private static volatile Field translatorField;

    private RequestHooks() {}

    /**
     * Reads each request's adapter from {@link Input} property {@code key} ({@code null} turns per-request adapters
     * off); with {@code fallback}, an unknown adapter runs on the base model instead of failing.
     */
    public static void configure(String key, boolean fallback) {
        property = key == null || key.isBlank() ? null : key;
        fallbackToBase = fallback;
    }

    /** The property read, or {@code null} when per-request adapters are off. */
    public static String property() {
        return property;
    }

    /** Requests served per adapter ({@value AdapterSelection#BASE} for the base model), by name. */
    public static Map<String, Long> requestCounts() {
        Map<String, Long> out = new TreeMap<>();
        REQUESTS.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    /** Requests that named an unknown adapter and ran on the base model instead. */
    public static long fallbacks() {
        return FALLBACKS.sum();
    }

    /** Woven at the start of {@code Predictor.batchPredict(inputs)}: selects the requests' adapters. */
    public static void enterBatch(Object predictor, Object inputs) {
        Object opened = NONE;
        try {
            if (property != null) {
                opened = select(predictor, inputs);
            }
        } catch (AdapterSelectionException e) {
            throw e;
        } catch (Throwable t) {
            AdviceErrors.record("selecting the adapters of a request", t);
        }
        OPEN.get().push(opened);
    }

    /** Woven before {@code batchPredict} returns or throws: restores the thread's previous selection. */
    public static void exitBatch() {
        try {
            ArrayDeque<Object> open = OPEN.get();
            Object opened = open.poll();
            if (opened instanceof AdapterSelection) {
                ((AdapterSelection) opened).close();
            }
        } catch (Throwable t) {
            AdviceErrors.record("ending a request", t);
        }
    }

    private static Object select(Object predictor, Object inputs) throws ReflectiveOperationException {
        if (!(inputs instanceof List) || ((List<?>) inputs).isEmpty()
                || !(((List<?>) inputs).get(0) instanceof Input)) {
            return NONE;
        }
        List<?> list = (List<?>) inputs;
        String key = property;
        List<String> named = new ArrayList<>(list.size());
        boolean any = false;
        for (Object input : list) {
            String name = input instanceof Input ? ((Input) input).getProperty(key, null) : null;
            named.add(name == null || name.isBlank() ? null : name.strip());
            any |= named.get(named.size() - 1) != null;
        }
        Block block = (Block) field(predictor, "block").get(predictor);
        ModelAdapters adapters = block == null ? null : AdapterRegistry.model(block);
        List<String> known = adapters == null ? List.of() : adapters.adapterNames();
        List<String> active = adapters == null || !adapters.adaptersEnabled() ? List.of() : adapters.activeAdapters();
        List<String> rows = new ArrayList<>(list.size());
        for (int i = 0; i < named.size(); i++) {
            String name = named.get(i);
            if (name == null) {
                if (active.size() > 1 && any) {
                    throw new AdapterSelectionException("request " + i + " of the batch has no Input property '"
                            + key + "' while other requests name adapters, and the model's active adapters are "
                            + active + ": a row runs one adapter; name it in every request");
                }
                name = active.isEmpty() ? AdapterSelection.BASE : String.join("+", active);
            } else if (name.equals("none") || name.equals(AdapterSelection.BASE)) {
                name = AdapterSelection.BASE;
            } else if (!known.contains(name)) {
                if (!fallbackToBase) {
                    throw new AdapterSelectionException("request " + i + " names adapter '" + name + "' (Input "
                            + "property '" + key + "'), which this model does not have (adapters: " + known + ")");
                }
                FALLBACKS.increment();
                name = AdapterSelection.BASE;
            }
            rows.add(name);
        }
        for (String name : rows) {
            REQUESTS.computeIfAbsent(name, k -> new LongAdder()).increment();
        }
        if (!any) {
            return NONE;
        }
        Set<String> distinct = new LinkedHashSet<>(rows);
        if (distinct.size() == 1) {
            String only = rows.get(0);
            if (active.equals(List.of(only)) || (only.equals(AdapterSelection.BASE) && active.isEmpty())) {
                return NONE;
            }
            return AdapterSelection.open(List.of(only));
        }
        Translator<?, ?> translator = (Translator<?, ?>) field(predictor, "translator").get(predictor);
        if (translator != null && translator.getBatchifier() == null) {
            throw new AdapterSelectionException("requests naming different adapters " + distinct + " need one "
                    + "batch, but the Translator " + translator.getClass().getName() + " has no Batchifier (inputs "
                    + "run one by one): send them in separate calls");
        }
        return AdapterSelection.perRow(rows);
    }

    private static Field field(Object predictor, String name) throws ReflectiveOperationException {
        Field cached = "block".equals(name) ? blockField : translatorField;
        if (cached != null) {
            return cached;
        }
        Class<?> c = predictor.getClass();
        while (c != null && !c.getName().equals("ai.djl.inference.Predictor")) {
            c = c.getSuperclass();
        }
        if (c == null) {
            throw new NoSuchFieldException(name + " (not a DJL Predictor: " + predictor.getClass().getName() + ")");
        }
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        if ("block".equals(name)) {
            blockField = f;
        } else {
            translatorField = f;
        }
        return f;
    }
}
