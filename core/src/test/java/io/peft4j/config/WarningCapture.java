package io.peft4j.config;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** Captures what {@link AdapterConfigs} warns while it is open. */
final class WarningCapture implements AutoCloseable {

    private final Consumer<String> previous = AdapterConfigs.warningSink;
    private final List<String> warnings = new ArrayList<>();

    WarningCapture() {
        AdapterConfigs.warningSink = warnings::add;
    }

    List<String> warnings() {
        return warnings;
    }

    @Override
    public void close() {
        AdapterConfigs.warningSink = previous;
    }
}
