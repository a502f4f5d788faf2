package io.peft4j.linalg;

import net.bytebuddy.ByteBuddy;
import net.bytebuddy.dynamic.ClassFileLocator;
import org.netlib.lapack.Sgesdd;
import org.netlib.util.intW;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * The singular value decomposition PyTorch computes on the CPU ({@code torch.linalg.svd}: LAPACK's {@code sgesdd},
 * single precision, divide and conquer), so that what depends on the singular vectors' signs — PEFT's
 * {@code svd_clamp} quantile — comes out as in PEFT.
 *
 * <p>Singular vectors are unique only up to a sign per pair; which sign LAPACK returns is decided by its Householder
 * reflections and plane rotations. This class runs the f2j translation of reference LAPACK's {@code sgesdd} (a pure
 * Java library, {@code net.sourceforge.f2j:arpack_combined_all}) with the plane rotation of LAPACK 3.10 and later
 * ({@link LapackRotation}), the LAPACK PyTorch links against. The translation is loaded in a class loader of its own
 * in which {@code Slartg} is that routine; nothing outside this class sees the change.
 *
 * <p>Limits, measured against PyTorch 1.13 with OpenBLAS 0.3.21's LAPACK: the leading singular pairs of PEFT's
 * golden SVD merges come out with the same signs; on random rank-deficient deltas about 1 pair in 10 can still differ,
 * the same rate at which two LAPACK builds (OpenBLAS vs reference, or MKL) differ from each other. The product
 * {@code U S Vh}, and so an unclamped merge, does not depend on signs.
 */
public final class LapackSvd {

    private static final Method SGESDD = load();

    private LapackSvd() {}

    /**
     * The full SVD of a row-major {@code m x n} matrix: {@code x = U diag(S) Vh}.
     *
     * @param x the matrix, row-major, length {@code m * n}
     * @param m rows
     * @param n columns
     * @return {@code U} ({@code m x k}), {@code S} ({@code k}, descending), {@code Vh} ({@code k x n}),
     *     {@code k = min(m, n)}
     */
    public static Result decompose(float[] x, int m, int n) {
        if (x.length != (long) m * n) {
            throw new IllegalArgumentException("matrix of " + x.length + " values is not " + m + " x " + n);
        }
        int k = Math.min(m, n);
        float[] a = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                a[j * m + i] = x[i * n + j];
            }
        }
        float[] s = new float[k];
        float[] u = new float[m * m];
        float[] vt = new float[n * n];
        int[] iwork = new int[8 * Math.max(k, 1)];
        intW info = new intW(0);
        float[] query = new float[1];
        sgesdd(m, n, a.clone(), s, u, vt, query, -1, iwork, info);
        float[] work = new float[Math.max(1, (int) query[0])];
        sgesdd(m, n, a, s, u, vt, work, work.length, iwork, info);
        if (info.val != 0) {
            throw new ArithmeticException("LAPACK sgesdd did not converge (info " + info.val + ") on a " + m + " x "
                    + n + " matrix");
        }
        float[] left = new float[m * k];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < k; j++) {
                left[i * k + j] = u[j * m + i];
            }
        }
        float[] right = new float[k * n];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < n; j++) {
                right[i * n + j] = vt[j * n + i];
            }
        }
        return new Result(m, n, left, s, right);
    }

    /**
     * The leading {@code r} singular triplets of the product {@code b a} ({@code b: m x r}, {@code a: r x n}, both
     * row-major) without forming it: thin QR of both factors, then {@link #decompose} of the {@code r x r} core.
     * {@code U S Vh} equals the product's truncated SVD; the signs of the pairs are not LAPACK's for the full matrix,
     * so use it only where they do not matter (no {@code svd_clamp}). Cost {@code O((m + n) r^2)} instead of
     * {@code O(m n min(m, n))}.
     *
     * @return {@code U} ({@code m x r}), {@code S} ({@code r}), {@code Vh} ({@code r x n})
     */
    public static Result decomposeProduct(float[] b, float[] a, int m, int r, int n) {
        double[][] qb = new double[m][r];
        double[][] rb = new double[r][r];
        qr(b, m, r, false, qb, rb);
        double[][] qa = new double[n][r];
        double[][] ra = new double[r][r];
        qr(a, n, r, true, qa, ra);
        float[] core = new float[r * r];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < r; j++) {
                double sum = 0;
                for (int t = 0; t < r; t++) {
                    sum += rb[i][t] * ra[j][t];
                }
                core[i * r + j] = (float) sum;
            }
        }
        Result small = decompose(core, r, r);
        float[] u = new float[m * r];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < r; j++) {
                double sum = 0;
                for (int t = 0; t < r; t++) {
                    sum += qb[i][t] * small.u()[t * r + j];
                }
                u[i * r + j] = (float) sum;
            }
        }
        float[] vh = new float[r * n];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int t = 0; t < r; t++) {
                    sum += small.vh()[i * r + t] * qa[j][t];
                }
                vh[i * n + j] = (float) sum;
            }
        }
        return new Result(m, n, u, small.s(), vh);
    }

    /**
     * Thin QR by modified Gram-Schmidt with re-orthogonalisation of a {@code rows x cols} matrix (row-major, or
     * given transposed as {@code cols x rows} when {@code transposed}); dependent columns give zero columns.
     */
    private static void qr(float[] x, int rows, int cols, boolean transposed, double[][] q, double[][] r) {
        double scale = 0;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                q[i][j] = transposed ? x[j * rows + i] : x[i * cols + j];
                scale = Math.max(scale, Math.abs(q[i][j]));
            }
        }
        double eps = 1e-12 * Math.max(scale, Double.MIN_NORMAL) * Math.max(rows, 1);
        for (int j = 0; j < cols; j++) {
            for (int pass = 0; pass < 2; pass++) {
                for (int i = 0; i < j; i++) {
                    double dot = 0;
                    for (int t = 0; t < rows; t++) {
                        dot += q[t][i] * q[t][j];
                    }
                    r[i][j] += dot;
                    for (int t = 0; t < rows; t++) {
                        q[t][j] -= dot * q[t][i];
                    }
                }
            }
            double norm = 0;
            for (int t = 0; t < rows; t++) {
                norm += q[t][j] * q[t][j];
            }
            norm = Math.sqrt(norm);
            r[j][j] = norm <= eps ? 0 : norm;
            for (int t = 0; t < rows; t++) {
                q[t][j] = norm <= eps ? 0 : q[t][j] / norm;
            }
        }
    }

    private static void sgesdd(int m, int n, float[] a, float[] s, float[] u, float[] vt, float[] work, int lwork,
            int[] iwork, intW info) {
        try {
            synchronized (SGESDD) {
                SGESDD.invoke(null, "A", m, n, a, 0, m, s, 0, u, 0, m, vt, 0, n, work, 0, lwork, iwork, 0, info);
            }
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            throw new IllegalStateException("LAPACK sgesdd failed", cause);
        }
    }

    private static Method load() {
        String lapack = Sgesdd.class.getPackageName();
        byte[] rotation = new ByteBuddy().redefine(LapackRotation.class,
                        ClassFileLocator.ForClassLoader.of(LapackRotation.class.getClassLoader()))
                .name(lapack + ".Slartg").make().getBytes();
        ClassLoader loader = new TranslationLoader(Sgesdd.class.getClassLoader(), lapack, rotation);
        try {
            return Class.forName(Sgesdd.class.getName(), true, loader).getMethod("sgesdd", String.class,
                    int.class, int.class, float[].class, int.class, int.class, float[].class, int.class,
                    float[].class, int.class, int.class, float[].class, int.class, int.class, float[].class, int.class,
                    int.class, int[].class, int.class, intW.class);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot load LAPACK's sgesdd from the f2j translation", e);
        }
    }

    /** Defines the translation's LAPACK classes itself (so they link to its Slartg); BLAS and helpers are shared. */
    private static final class TranslationLoader extends ClassLoader {
        private final ClassLoader source;
        private final String lapack;
        private final byte[] rotation;

        TranslationLoader(ClassLoader source, String lapack, byte[] rotation) {
            super(source);
            this.source = source;
            this.lapack = lapack;
            this.rotation = rotation;
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!name.startsWith(lapack + ".") || name.indexOf('.', lapack.length() + 1) >= 0) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    byte[] bytes = name.equals(lapack + ".Slartg") ? rotation : read(name);
                    c = defineClass(name, bytes, 0, bytes.length);
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }

        private byte[] read(String name) throws ClassNotFoundException {
            try (InputStream in = source.getResourceAsStream(name.replace('.', '/') + ".class")) {
                if (in == null) {
                    throw new ClassNotFoundException(name);
                }
                return in.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * A thin SVD, row-major arrays.
     *
     * @param m rows of the matrix
     * @param n columns of the matrix
     * @param u left singular vectors, {@code m x k}
     * @param s singular values, descending, {@code k}
     * @param vh right singular vectors as rows, {@code k x n}
     */
    public record Result(int m, int n, float[] u, float[] s, float[] vh) {
        /** {@code min(m, n)}. */
        public int k() {
            return s.length;
        }
    }
}
