/**
 * The adapters of live models: which modules of a model carry which adapters, which are active, merged or disabled,
 * the {@code modules_to_save} copies, and the process-wide registry the forward interception consults. Methods are
 * reached through {@link io.peft4j.config.PeftMethod}.
 */
package io.peft4j.tuner;
