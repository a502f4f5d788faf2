/**
 * Batch inference with adapters on Apache Spark: {@link io.peft4j.spark.AdapterScorer} scores a {@code Dataset<Row>}
 * on the executors with one DJL model per executor JVM ({@link io.peft4j.spark.ExecutorModels}), each row with the
 * adapter its adapter column names, in mixed-adapter batches; {@link io.peft4j.spark.AdapterDirectories} ships adapter
 * directories to the executors (a broadcast variable). Spark, DJL and peft4j (the agent jar, or peft4j-core) are
 * provided by the cluster and the application.
 */
package io.peft4j.spark;
