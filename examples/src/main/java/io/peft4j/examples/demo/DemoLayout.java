package io.peft4j.examples.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where the demo's steps write, under one output directory ({@code demo.sh --out}). The paths are the ones
 * {@code demo.sh} passes to the application's commands.
 *
 * @param root the output directory
 */
public record DemoLayout(Path root) {

    /** {@code adapter_config.json} that {@code prepare} writes: the agent's {@code adapter=} for LoRA fine-tuning. */
    public Path adapterConfig() {
        return root.resolve("adapter-config");
    }

    /** The pre-trained base model and {@code pretrain.properties} ({@code pretrain --out ROOT}). */
    public Path base() {
        return root.resolve("base");
    }

    /** Full fine-tuning, no agent: {@code loss.csv} and {@code results.properties}. */
    public Path full() {
        return root.resolve("full");
    }

    /** LoRA fine-tuning under the agent: {@code loss.csv} and {@code results.properties}. */
    public Path lora() {
        return root.resolve("lora");
    }

    /** The trained adapter in PEFT's format (the agent's {@code save=}). */
    public Path loraAdapter() {
        return root.resolve("lora-adapter");
    }

    /** The saved adapter evaluated in a fresh JVM: {@code results.properties}. */
    public Path reloaded() {
        return root.resolve("reloaded");
    }

    /** Both runs' loss curves. */
    public Path chart() {
        return root.resolve("loss-curves.png");
    }

    /** Every number of the run and the checks' outcomes, written by {@code report}. */
    public Path results() {
        return root.resolve("results.json");
    }

    /** Each step's full output ({@code demo.sh} writes them). */
    public Path logs() {
        return root.resolve("logs");
    }

    /**
     * Deletes what an earlier run wrote here, so that no stale result or log can pass for a new one. Other files in
     * the directory are left alone.
     *
     * @throws IOException if a file cannot be deleted
     */
    void clean() throws IOException {
        for (Path path : List.of(adapterConfig(), base(), full(), lora(), loraAdapter(), reloaded(), chart(),
                results(), logs())) {
            if (!Files.exists(path)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(path)) {
                for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(file);
                }
            }
        }
    }
}
