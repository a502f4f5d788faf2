/**
 * PEFT adapter configurations and the method SPI: {@code adapter_config.json} as Hugging Face PEFT 0.20 reads and
 * writes it, and {@link io.peft4j.config.PeftMethod}, what the generic code asks of a PEFT method.
 *
 * <p>{@link io.peft4j.config.AdapterConfigs} reads and writes the file (byte-identical to Python's
 * {@code json.dumps(indent=2, sort_keys=True)}); the registered method of its {@code peft_type}
 * ({@link io.peft4j.config.PeftMethods}) makes the typed, immutable config, a subclass of
 * {@link io.peft4j.config.AdapterConfig} declared with a {@link io.peft4j.config.ConfigSchema} in the method's own
 * package ({@code io.peft4j.lora.LoraConfig}, {@code io.peft4j.adalora.AdaLoraConfig},
 * {@code io.peft4j.ia3.IA3Config}) and validated as PEFT's {@code __post_init__} validates it. Every config keeps
 * the JSON it was made from, so that fields peft4j does not interpret survive a read/write round trip. Problems are
 * reported as {@link io.peft4j.config.PeftConfigException}s naming the file and the JSON key at fault.
 */
package io.peft4j.config;
