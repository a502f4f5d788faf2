package io.peft4j.lora;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The values of LoRA's {@code init_lora_weights} that peft4j implements, as PEFT 0.20's {@code LoraLayer.update_layer}
 * reads them: {@code true}, {@code false}, {@code "gaussian"} (any case), {@code "pissa"}, {@code "pissa_niter_N"},
 * {@code "olora"} (any case) and {@code "orthogonal"}.
 *
 * <p>PEFT also accepts {@code "loftq"}, {@code "eva"}, {@code "corda"}, {@code "lora_ga"}, {@code "mica"} and others;
 * {@link #fromJson} returns {@code null} for them and the config is refused when read. Values PEFT itself rejects when
 * it injects ({@code "pissa_foo"}, {@code "pissa_niter_x"}) are refused with PEFT's message by {@link #fromJson}.
 *
 * <p>PiSSA and OLoRA change the base weight of each adapted Linear ({@code W_res = W - scaling * B @ A}, see
 * {@link #changesBaseWeights()}); on embeddings they are plain LoRA initialisations and on convolutions PEFT refuses
 * them, as peft4j does.
 */
public final class InitLoraWeights {

    /** What the value asks for. */
    public enum Kind {
        /** JSON {@code true}: A Kaiming-uniform (as {@code nn.Linear}), B zero: the adapter starts as a no-op. */
        TRUE,
        /** JSON {@code false}: A and B random; the adapter changes the output from the start. */
        FALSE,
        /** JSON {@code "gaussian"}: A normal with std {@code 1/r}, B zero. */
        GAUSSIAN,
        /**
         * JSON {@code "pissa"} or {@code "pissa_niter_N"}: A and B from the leading r singular triplets of W (a full
         * SVD,
         * or torch's randomized {@code svd_lowrank} with N subspace iterations), W replaced by the residual.
         */
        PISSA,
        /** JSON {@code "olora"}: B = Q[:, :r], A = R[:r] of W = QR, W replaced by the residual. */
        OLORA,
        /** JSON {@code "orthogonal"}: A and B from orthogonal rows of a random r x r Q; W unchanged (r even). */
        ORTHOGONAL
    }

    /** JSON {@code true}. */
    public static final InitLoraWeights TRUE = new InitLoraWeights(Kind.TRUE, Boolean.TRUE, -1);
    /** JSON {@code false}. */
    public static final InitLoraWeights FALSE = new InitLoraWeights(Kind.FALSE, Boolean.FALSE, -1);
    /** JSON {@code "gaussian"}. */
    public static final InitLoraWeights GAUSSIAN = new InitLoraWeights(Kind.GAUSSIAN, "gaussian", -1);
    /** JSON {@code "pissa"}: PiSSA from a full SVD. */
    public static final InitLoraWeights PISSA = new InitLoraWeights(Kind.PISSA, "pissa", -1);
    /** JSON {@code "olora"}. */
    public static final InitLoraWeights OLORA = new InitLoraWeights(Kind.OLORA, "olora", -1);
    /** JSON {@code "orthogonal"}. */
    public static final InitLoraWeights ORTHOGONAL = new InitLoraWeights(Kind.ORTHOGONAL, "orthogonal", -1);

    private static final Pattern NITER = Pattern.compile("pissa_niter_(.*)");

    private final Kind kind;
    private final Object json;
    private final int niter;

    private InitLoraWeights(Kind kind, Object json, int niter) {
        this.kind = kind;
        this.json = json;
        this.niter = niter;
    }

    /** {@code "pissa_niter_<niter>"}: PiSSA from torch's randomized SVD with {@code niter} subspace iterations. */
    public static InitLoraWeights pissaNiter(int niter) {
        return new InitLoraWeights(Kind.PISSA, "pissa_niter_" + niter, niter);
    }

    /** What the value asks for. */
    public Kind kind() {
        return kind;
    }

    /**
     * For {@code "pissa_niter_N"}, N (PEFT passes it to {@code svd_lowrank}; a negative N runs no iteration, as
     * Python's {@code range(N)}); -1 for a full SVD and the other kinds.
     */
    public int niter() {
        return niter;
    }

    /** Whether PiSSA uses the randomized SVD ({@code "pissa_niter_N"}). */
    public boolean randomized() {
        return kind == Kind.PISSA && !"pissa".equals(json);
    }

    /** Whether the initialisation replaces the base weight of an adapted Linear by a residual (PiSSA, OLoRA). */
    public boolean changesBaseWeights() {
        return kind == Kind.PISSA || kind == Kind.OLORA;
    }

    /** Returns the JSON value PEFT writes: {@code Boolean.TRUE}, {@code Boolean.FALSE} or the string as given. */
    public Object jsonValue() {
        return json;
    }

    /** Returns the value as PEFT's messages print it: {@code True}, {@code False} or {@code 'pissa'}. */
    String pythonRepr() {
        return json instanceof Boolean ? ((Boolean) json ? "True" : "False") : "'" + json + "'";
    }

    /**
     * Returns the value for a JSON value, or {@code null} when peft4j does not implement it (loftq, eva, ...).
     *
     * @throws IllegalArgumentException with PEFT's message for a {@code "pissa..."} value PEFT itself rejects
     */
    public static InitLoraWeights fromJson(Object value) {
        if (value instanceof Boolean) {
            return (Boolean) value ? TRUE : FALSE;
        }
        if (!(value instanceof String)) {
            return null;
        }
        String s = (String) value;
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.equals("gaussian")) {
            return s.equals("gaussian") ? GAUSSIAN : new InitLoraWeights(Kind.GAUSSIAN, s, -1);
        }
        if (lower.equals("olora")) {
            return s.equals("olora") ? OLORA : new InitLoraWeights(Kind.OLORA, s, -1);
        }
        if (s.equals("orthogonal")) {
            return ORTHOGONAL;
        }
        if (s.equals("pissa")) {
            return PISSA;
        }
        if (s.startsWith("pissa")) {
            Matcher m = NITER.matcher(s);
            if (!m.matches() || s.split("_niter_", -1).length != 2) {
                throw new IllegalArgumentException("init_lora_weights should be 'pissa' or "
                        + "'pissa_niter_[number of iters]', got " + s + " instead.");
            }
            String digits = m.group(1).strip();
            if (!digits.matches("[+-]?[0-9]+")) {
                throw new IllegalArgumentException("invalid literal for int() with base 10: '" + m.group(1) + "'");
            }
            try {
                return new InitLoraWeights(Kind.PISSA, s, Integer.parseInt(digits));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("pissa_niter_N: N = " + digits + " is out of range", e);
            }
        }
        return null;
    }

    /** Equal when they ask for the same thing: {@code "Gaussian"} equals {@code "gaussian"}. */
    @Override
    public boolean equals(Object o) {
        return o instanceof InitLoraWeights && ((InitLoraWeights) o).kind == kind
                && ((InitLoraWeights) o).niter == niter && ((InitLoraWeights) o).randomized() == randomized();
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, niter, randomized());
    }

    @Override
    public String toString() {
        return String.valueOf(json);
    }
}
