/**
 * PEFT adapter configurations: {@code adapter_config.json} as Hugging Face PEFT 0.20 reads and writes it.
 *
 * <p>{@link io.peft4j.config.AdapterConfigs} reads and writes the file (byte-identical to Python's
 * {@code json.dumps(indent=2, sort_keys=True)}); {@link io.peft4j.config.LoraConfig},
 * {@link io.peft4j.config.AdaLoraConfig} and {@link io.peft4j.config.IA3Config} are the typed, immutable views,
 * validated as PEFT's {@code __post_init__} methods validate them. Every config keeps the JSON it was made from,
 * so that fields peft4j does not interpret survive a read/write round trip. Problems are reported as
 * {@link io.peft4j.config.PeftConfigException}s naming the file and the JSON key at fault.
 */
package io.peft4j.config;
