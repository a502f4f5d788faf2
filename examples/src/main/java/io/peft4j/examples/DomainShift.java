package io.peft4j.examples;

/**
 * How the fine-tuning domain differs from the pre-training domain: a fixed geometric transform of every 8x8 image.
 * The pre-trained classifier has never seen such images and does badly on them.
 */
public enum DomainShift {

    /** Mirrored left-right, as if the digits were seen from behind the paper. */
    MIRROR,

    /** Rotated by 90 degrees clockwise. */
    ROTATE_90;

    private static final int SIDE = 8;

    /**
     * Transforms one image.
     *
     * @param image 64 pixels, row-major 8x8
     * @return a new array with the transformed image
     */
    public float[] apply(float[] image) {
        float[] out = new float[image.length];
        for (int row = 0; row < SIDE; row++) {
            for (int col = 0; col < SIDE; col++) {
                int source = switch (this) {
                    case MIRROR -> row * SIDE + (SIDE - 1 - col);
                    case ROTATE_90 -> (SIDE - 1 - col) * SIDE + row;
                };
                out[row * SIDE + col] = image[source];
            }
        }
        return out;
    }

    /** The command-line name: {@code mirror} or {@code rotate90}. */
    public String cliName() {
        return this == MIRROR ? "mirror" : "rotate90";
    }

    /**
     * Parses a command-line name such as {@code mirror} or {@code rotate90}.
     *
     * @param name the name, case-insensitive, dashes and underscores ignored
     * @return the shift
     */
    public static DomainShift parse(String name) {
        String key = name.toLowerCase(java.util.Locale.ROOT).replace("-", "").replace("_", "");
        return switch (key) {
            case "mirror" -> MIRROR;
            case "rotate90" -> ROTATE_90;
            default -> throw new UsageException("unknown shift '" + name + "' (mirror or rotate90)");
        };
    }
}
