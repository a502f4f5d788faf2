/**
 * Dense linear algebra DJL lacks: {@link io.peft4j.linalg.LapackSvd}, the singular value decomposition PyTorch
 * computes (LAPACK's {@code sgesdd}, with its sign convention), for {@code add_weighted_adapter}'s SVD merges.
 */
package io.peft4j.linalg;
