package io.peft4j.io;
import ai.djl.ndarray.*; import ai.djl.ndarray.types.*; import java.nio.*;
/** STUB. */
public final class TensorData { final NDArray a; final float[] f; final long[] shape;
  TensorData(float[] f, long[] s) { this.f = f; this.shape = s; this.a = null; }
  public static TensorData fromNDArray(NDArray a) { return new TensorData(a.toType(DataType.FLOAT32, false).toFloatArray(), a.getShape().getShape()); }
  public NDArray toNDArray(NDManager m) { return m.create(f, new Shape(shape)); }
  public float[] toFloatArray() { return f; } }
