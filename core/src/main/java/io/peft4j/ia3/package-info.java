/** IA3: learned vectors that rescale a module's input or output (PEFT's {@code IA3Model}). */
package io.peft4j.ia3;
