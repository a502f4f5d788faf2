/**
 * LoRA, DoRA and weighted combinations of LoRA adapters (PEFT's {@code tuners/lora}):
 * {@link io.peft4j.lora.LoraConfig}, the layers on Linear, embedding and convolution blocks built on
 * {@link io.peft4j.lora.LowRankFactors} (which AdaLoRA's layer shares), {@link io.peft4j.lora.WeightedAdapters}
 * ({@code add_weighted_adapter}), and {@link io.peft4j.lora.LoraMethod}, the method's registration.
 */
package io.peft4j.lora;
