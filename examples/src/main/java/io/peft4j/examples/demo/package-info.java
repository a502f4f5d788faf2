/**
 * The demo's driver, {@link io.peft4j.examples.demo.DemoDriver}: what {@code demo.sh} runs before and after the
 * application's steps. {@code prepare} checks the demo's options and writes the LoRA adapter config with peft4j's
 * config builders; {@code report} collects the steps' results into {@code OUT/results.json}, prints the summary and
 * runs the acceptance checks ({@link io.peft4j.examples.demo.AcceptanceChecks}).
 *
 * <p>Unlike the application ({@code io.peft4j.examples}, which never references peft4j), this package uses
 * peft4j-core; it runs with {@code examples/target/demo-classpath.txt}, never in the application's JVM.
 */
package io.peft4j.examples.demo;
