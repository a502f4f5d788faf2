package io.peft4j.linalg;

import org.netlib.util.floatW;

/**
 * LAPACK 3.10's {@code SLARTG} (E. Anderson's rewrite, {@code la_xlartg.f90}): the plane rotation with
 * {@code c = |f| / sqrt(f^2 + g^2) >= 0} and {@code r} carrying the sign of {@code f}. The LAPACK 3.0 routine in the
 * f2j translation makes {@code c} negative when {@code |f| <= |g|} and {@code f < 0}, which flips singular vectors
 * relative to the LAPACK that PyTorch ships with; {@link LapackSvd} runs the translation with this routine instead.
 *
 * <p>Not called directly: its bytecode is copied, under the name {@code org.netlib.lapack.Slartg}, into the class
 * loader {@link LapackSvd} runs the translation in.
 */
public final class LapackRotation {

    private static final float SAFMIN = Float.MIN_NORMAL;
    private static final float SAFMAX = 1 / SAFMIN;
    private static final float RTMIN = (float) Math.sqrt(SAFMIN);
    private static final float RTMAX = (float) Math.sqrt(SAFMAX / 2);

    private LapackRotation() {}

    /**
     * Computes {@code c}, {@code s}, {@code r} with {@code [c s; -s c] [f; g] = [r; 0]}.
     *
     * @param f the first component
     * @param g the second component, rotated to zero
     * @param cs receives {@code c}
     * @param sn receives {@code s}
     * @param r receives {@code r}
     */
    public static void slartg(float f, float g, floatW cs, floatW sn, floatW r) {
        float f1 = Math.abs(f);
        float g1 = Math.abs(g);
        if (g == 0) {
            cs.val = 1;
            sn.val = 0;
            r.val = f;
        } else if (f == 0) {
            cs.val = 0;
            sn.val = Math.signum(g);
            r.val = g1;
        } else if (f1 > RTMIN && f1 < RTMAX && g1 > RTMIN && g1 < RTMAX) {
            float d = (float) Math.sqrt(f * f + g * g);
            cs.val = f1 / d;
            r.val = Math.copySign(d, f);
            sn.val = g / r.val;
        } else {
            float u = Math.min(SAFMAX, Math.max(SAFMIN, Math.max(f1, g1)));
            float fs = f / u;
            float gs = g / u;
            float d = (float) Math.sqrt(fs * fs + gs * gs);
            cs.val = Math.abs(fs) / d;
            r.val = Math.copySign(d, f);
            sn.val = gs / r.val;
            r.val *= u;
        }
    }
}
