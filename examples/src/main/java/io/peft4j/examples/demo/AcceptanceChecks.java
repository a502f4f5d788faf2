package io.peft4j.examples.demo;

import io.peft4j.examples.ParameterCount;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** What a demo run must show for the demo to pass; {@code report} prints them and exits with 3 if one fails. */
final class AcceptanceChecks {

    /** LoRA must reach this share of full fine-tuning's accuracy gain on the shifted digits. */
    static final double MIN_LORA_SHARE_OF_GAIN = 0.90;

    /** LoRA must train less than this share of the parameters (see {@link ParameterCount#trainablePercent()}). */
    static final double MAX_LORA_TRAINABLE_PERCENT = 10.0;

    /** The saved adapter, reloaded in a fresh JVM, must reproduce both LoRA accuracies within this (0..1). */
    static final double RELOAD_TOLERANCE = 0.005;

    /** The files of a PEFT adapter directory. */
    static final List<String> ADAPTER_FILES = List.of("adapter_config.json", "adapter_model.safetensors");

    /**
     * One check's outcome.
     *
     * @param description what was checked, with the measured values
     * @param passed whether it holds
     */
    record Check(String description, boolean passed) {}

    private AcceptanceChecks() {}

    /** Evaluates every check on a run's results, in the order they are printed. */
    static List<Check> evaluate(DemoResults r) {
        List<Check> checks = new ArrayList<>();
        double share = r.loraShareOfGain();
        checks.add(new Check(String.format(Locale.ROOT,
                "LoRA reaches >= %.0f%% of the full fine-tune's accuracy gain (%s)", 100 * MIN_LORA_SHARE_OF_GAIN,
                Double.isNaN(share) ? "full fine-tuning gained nothing" : String.format(Locale.ROOT, "%.1f%%",
                        100 * share)), share >= MIN_LORA_SHARE_OF_GAIN));
        ParameterCount lora = r.loraRun().parameters();
        checks.add(new Check(String.format(Locale.ROOT, "LoRA trains < %.0f%% of the parameters: %s",
                MAX_LORA_TRAINABLE_PERCENT, lora), lora.trainablePercent() < MAX_LORA_TRAINABLE_PERCENT));
        ParameterCount full = r.full().parameters();
        checks.add(new Check("without the agent every parameter trains: " + full,
                full.total() > 0 && full.trainable() == full.total()));
        DemoResults.Stage trained = r.loraRun();
        DemoResults.Stage reloaded = r.reloaded();
        checks.add(new Check(String.format(Locale.ROOT,
                "the saved adapter reproduces LoRA's accuracies in a fresh JVM: %s %.2f%% vs %.2f%%, original %.2f%%"
                        + " vs %.2f%%",
                r.shift(), 100 * reloaded.shiftedAccuracy(),
                100 * trained.shiftedAccuracy(), 100 * reloaded.originalAccuracy(), 100 * trained.originalAccuracy()),
                Math.abs(reloaded.shiftedAccuracy() - trained.shiftedAccuracy()) <= RELOAD_TOLERANCE
                        && Math.abs(reloaded.originalAccuracy() - trained.originalAccuracy()) <= RELOAD_TOLERANCE));
        checks.add(new Check("the adapter is saved in PEFT's format (" + String.join(", ", ADAPTER_FILES) + ")",
                r.adapterFiles().containsAll(ADAPTER_FILES)));
        checks.add(new Check("loss chart written (PNG)", r.chartIsPng()));
        return checks;
    }
}
