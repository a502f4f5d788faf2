/**
 * Dense linear algebra DJL's op set lacks, in plain Java doubles: a truncated SVD of low-rank products
 * ({@link io.peft4j.linalg.LapackSvd}, LAPACK's sgesdd with its signs, for {@code add_weighted_adapter}), the leading
 * singular triplets of a weight
 * ({@link io.peft4j.linalg.Svd}: EJML's dense SVD, or torch's randomized {@code svd_lowrank}) and a partial
 * Householder QR with LAPACK's signs ({@link io.peft4j.linalg.HouseholderQr}), for PiSSA, OLoRA and orthogonal
 * initialisation. EJML's types stay inside this package ({@link io.peft4j.linalg.DenseMatrix} is the exchange type).
 */
package io.peft4j.linalg;
