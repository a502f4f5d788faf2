package io.peft4j.agent;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import io.peft4j.io.TensorArrays;
import io.peft4j.traced.TracedAdapter;
import io.peft4j.traced.TracedModel;
import io.peft4j.traced.TracedModels;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JMX operations on traced models ({@link AdapterControl} does the same on block models and calls this for the
 * traced ones): activate, disable and enable, unmerge and merge, load, dump and remove, each while no forward pass of
 * the model runs. A traced model has no unmerged state: its active adapters are merged, or the model runs its base
 * weights.
 */
final class TracedControl {

    private final KnownModels models;

    TracedControl(KnownModels models) {
        this.models = models;
    }

    /** The traced models that carry adapters, in order of first use. */
    List<TracedModel> adapted() {
        List<TracedModel> list = new ArrayList<>(TracedModels.all());
        Comparator<Block> order = models.order();
        list.sort((a, b) -> order.compare(a.root(), b.root()));
        return list;
    }

    /** The model id of {@code model}. */
    String id(TracedModel model) {
        return models.idOf(model.root());
    }

    /** One row per merged module and adapter. */
    List<AdapterControl.ModuleRow> modules() {
        List<AdapterControl.ModuleRow> rows = new ArrayList<>();
        for (TracedModel model : adapted()) {
            for (TracedModel.MergedModule m : model.mergedModules()) {
                rows.add(new AdapterControl.ModuleRow(id(model), m.path(), model.root().getClass().getName() + " ("
                        + m.kind() + ", merged)", m.adapter(), m.type(), m.rank(), m.scaling(), m.parameters()));
            }
        }
        return rows;
    }

    /** One row per model and adapter. */
    List<AdapterControl.AdapterRow> adapters() {
        List<AdapterControl.AdapterRow> rows = new ArrayList<>();
        for (TracedModel model : adapted()) {
            List<String> active = model.activeAdapters();
            for (String name : model.adapterNames()) {
                TracedAdapter a = model.adapter(name);
                double squares = 0;
                long bytes = 0;
                for (NDArray t : a.stateDict().values()) {
                    bytes += t.size() * t.getDataType().getNumOfBytes();
                    for (float v : TensorArrays.fromNDArray(t).toFloatArray()) {
                        squares += (double) v * v;
                    }
                }
                rows.add(new AdapterControl.AdapterRow(id(model), name, a.config().peftType().jsonName(),
                        active.contains(name), model.adaptersEnabled(), active.contains(name) && model.isMerged(),
                        a.parameterCount(), Math.sqrt(squares), bytes));
            }
        }
        return rows;
    }

    /** Checks that every traced model has adapters {@code names}. */
    void checkHas(List<String> names) {
        for (TracedModel model : adapted()) {
            for (String name : names) {
                if (!model.adapterNames().contains(name)) {
                    throw new IllegalArgumentException("model " + id(model) + " has no adapter '" + name
                            + "' (adapters: " + model.adapterNames() + "); nothing was changed");
                }
            }
        }
    }

    /** Activates {@code names} (merged in order) on every traced model; returns the model ids. */
    List<String> activate(List<String> names) {
        List<String> done = new ArrayList<>();
        for (TracedModel model : adapted()) {
            model.setActiveAdapters(names);
            done.add(id(model));
        }
        return done;
    }

    /** Disables (base weights) or re-enables the adapters of every traced model. */
    List<String> setEnabled(boolean enabled) {
        List<String> done = new ArrayList<>();
        for (TracedModel model : adapted()) {
            model.setAdaptersEnabled(enabled);
            done.add(id(model));
        }
        return done;
    }

    /** Merges (again) the active adapters of every traced model. */
    List<String> merge() {
        List<String> done = new ArrayList<>();
        for (TracedModel model : adapted()) {
            model.merge();
            done.add(id(model) + " " + model.activeAdapters());
        }
        return done;
    }

    /** Restores the base weights of every traced model. */
    List<String> unmerge() {
        List<String> done = new ArrayList<>();
        for (TracedModel model : adapted()) {
            model.unmerge();
            done.add(id(model));
        }
        return done;
    }

    /** Whether traced model {@code root} already has adapter {@code name}. */
    static boolean has(Block root, String name) {
        TracedModel model = TracedModels.of(root);
        return model != null && model.adapterNames().contains(name);
    }

    /** Loads adapter {@code name} from {@code dir} into traced model {@code root} and makes it the active one. */
    void load(Block root, Path dir, String name) {
        TracedModel model = TracedModels.forBlock(root);
        model.setLabel(models.idOf(root));
        model.load(dir, name);
        try {
            model.setActiveAdapters(List.of(name));
            if (!model.adaptersEnabled()) {
                model.setAdaptersEnabled(true);
            }
        } catch (RuntimeException e) {
            model.deleteAdapter(name);
            throw e;
        }
    }

    /** The traced models that have adapter {@code name}. */
    List<TracedModel> having(String name) {
        List<TracedModel> out = new ArrayList<>();
        for (TracedModel model : adapted()) {
            if (model.adapterNames().contains(name)) {
                out.add(model);
            }
        }
        return out;
    }

    /** Restores every traced model's base weights and forgets its adapters; returns the removed names by id. */
    Map<String, List<String>> removeAll() {
        Map<String, List<String>> removed = new LinkedHashMap<>();
        for (TracedModel model : adapted()) {
            List<String> names = model.adapterNames();
            model.setAdaptersEnabled(false);
            for (String name : names) {
                model.deleteAdapter(name);
            }
            model.setAdaptersEnabled(true);
            TracedModels.remove(model.root());
            removed.put(id(model), names);
        }
        return removed;
    }
}
