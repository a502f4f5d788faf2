/**
 * Reading and writing the safetensors format, the file format of Hugging Face PEFT adapters ({@code
 * adapter_model.safetensors}) and of most model weights.
 *
 * <p>{@link io.peft4j.io.SafetensorsFile} reads a file strictly and memory-maps its tensors; {@link
 * io.peft4j.io.SafetensorsWriter} writes files that are byte-for-byte what Python's {@code
 * safetensors.torch.save_file} writes for the same tensors; {@link io.peft4j.io.TensorData} is the
 * engine-independent tensor (dtype, shape, little-endian bytes) both of them exchange, with
 * conversions to and from DJL {@code NDArray}s. Every format error is a {@link
 * io.peft4j.io.SafetensorsException} that names the file and, where one is involved, the tensor.
 *
 * <p>File layout: an 8-byte little-endian unsigned header length {@code N}, {@code N} bytes of
 * UTF-8 JSON header, then the data buffer. The header maps each tensor name to {@code
 * {"dtype","shape","data_offsets":[begin,end]}} (offsets relative to the data buffer) and may hold
 * a {@code "__metadata__"} map of strings. The tensors must cover the data buffer exactly, without
 * gaps or overlaps.
 */
package io.peft4j.io;
