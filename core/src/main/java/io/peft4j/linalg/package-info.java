/** Small dense linear algebra DJL lacks (a truncated SVD of low-rank products), in plain Java doubles. */
package io.peft4j.linalg;
