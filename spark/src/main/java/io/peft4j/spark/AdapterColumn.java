package io.peft4j.spark;

import io.peft4j.tuner.AdapterSelection;

/** What an adapter column's value means: an adapter name, or the base model. */
final class AdapterColumn {

    private AdapterColumn() {}

    /** True for the values that select the base model: null, empty, {@code none} and {@code __base__} (as PEFT). */
    static boolean isBase(String value) {
        return value == null || value.isEmpty() || value.equals("none") || value.equals(AdapterSelection.BASE);
    }

    /** The value as {@link io.peft4j.Peft#useAdapterPerRow} takes it. */
    static String normalise(String value) {
        return isBase(value) ? AdapterSelection.BASE : value;
    }
}
