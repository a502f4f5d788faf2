package io.peft4j.agent;

import io.peft4j.config.AdapterConfig;

import java.nio.file.Path;

/**
 * An adapter given at launch ({@code adapter=DIR}), its config read and validated once, at start-up: every model gets
 * this config, even if the file changes later; only the weights are read from {@code dir} per model.
 *
 * @param name the adapter name
 * @param dir the adapter directory
 * @param config the config read from {@code dir/adapter_config.json}; null where {@code dir} uses {@code {model}}, the
 *     directory of a traced model, and so is read when such a model is loaded
 */
record StartupAdapter(String name, Path dir, AdapterConfig config) {}
