/**
 * The digits demo on Apache Spark: {@link io.peft4j.examples.spark.DigitsSparkJob} scores the test set with the base
 * model and two adapters in one mixed adapter column and writes the accuracy per adapter; examples/spark-demo.sh
 * runs it.
 */
package io.peft4j.examples.spark;
