/**
 * Which modules of a model an adapter config targets, decided exactly as PEFT 0.20's
 * {@code check_target_module_exists} decides it, plus PEFT's {@code get_pattern_key} for {@code rank_pattern} and
 * {@code alpha_pattern}, and the messages PEFT raises when nothing matches.
 *
 * <p>Pure Java: module names are dotted paths such as {@code model.layers.0.mlp.fc1}, as in PyTorch's
 * {@code named_modules()}. Regular expressions from configs are Python {@code re} syntax; {@link
 * io.peft4j.match.PythonRegex} translates them for {@link java.util.regex}.
 */
package io.peft4j.match;
