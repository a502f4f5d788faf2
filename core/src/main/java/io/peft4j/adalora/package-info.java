/**
 * AdaLoRA: SVD-shaped LoRA whose rank budget is reallocated during training (PEFT's {@code AdaLoraModel},
 * {@code RankAllocator}), working in the low-level path and under the agent.
 */
package io.peft4j.adalora;
