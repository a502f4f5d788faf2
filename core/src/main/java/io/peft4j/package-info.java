/** peft4j: PEFT adapters (LoRA, ...) for DJL models; {@link io.peft4j.Peft} is the Java API. */
package io.peft4j;
