/**
 * PEFT adapters on traced models: TorchScript modules loaded by DJL's PyTorch engine ({@code PtSymbolBlock}), whose
 * layers run inside libtorch where no forward can be intercepted. DJL shows their parameters under PyTorch's names
 * ({@code h.0.attn.c_attn.weight}), which are the module paths of PEFT adapter files, so adapters are merged into the
 * weights in place ({@link io.peft4j.traced.TracedModel}), swapped live, merged offline into a new TorchScript file
 * ({@link io.peft4j.traced.TorchScriptMerge}) and LoRA is trained by the exact identity
 * {@code W = W0 + s·B·A} ({@link io.peft4j.traced.TracedTraining}).
 *
 * <p>This package is generic: each PEFT method contributes its merge math through {@link
 * io.peft4j.traced.TracedMethod}, found with {@link java.util.ServiceLoader}.
 */
package io.peft4j.traced;
