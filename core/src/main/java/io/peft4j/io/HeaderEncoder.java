package io.peft4j.io;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors header exactly as the reference implementation's {@code serde_json} does:
 * compact JSON, {@code "__metadata__"} first, tensor entries with fields in the order {@code dtype,
 * shape, data_offsets}, then spaces up to a multiple of 8 bytes.
 */
final class HeaderEncoder {
    private static final char[] HEX = "0123456789abcdef".toCharArray();
    private static final int ALIGNMENT = 8;

    private HeaderEncoder() {}

    /**
     * Encodes a header.
     *
     * @param metadata written as {@code "__metadata__"} in iteration order when not empty
     * @param tensors the entries in data order
     * @return the UTF-8 header, padded with spaces to a multiple of 8 bytes
     * @throws IllegalArgumentException if a string holds an unpaired surrogate, which UTF-8 cannot
     *     encode
     */
    static byte[] encode(Map<String, String> metadata, List<TensorEntry> tensors) {
        StringBuilder json = new StringBuilder(64 + 96 * tensors.size()).append('{');
        boolean first = true;
        if (metadata != null && !metadata.isEmpty()) {
            string(json, SafetensorsFile.METADATA_KEY).append(":{");
            boolean firstEntry = true;
            for (Map.Entry<String, String> entry : metadata.entrySet()) {
                if (!firstEntry) {
                    json.append(',');
                }
                string(json, entry.getKey()).append(':');
                string(json, entry.getValue());
                firstEntry = false;
            }
            json.append('}');
            first = false;
        }
        for (TensorEntry tensor : tensors) {
            if (!first) {
                json.append(',');
            }
            string(json, tensor.name()).append(":{\"dtype\":");
            string(json, tensor.dtype().name()).append(",\"shape\":[");
            for (int i = 0; i < tensor.shape().length; i++) {
                if (i > 0) {
                    json.append(',');
                }
                json.append(tensor.shape()[i]);
            }
            json.append("],\"data_offsets\":[")
                    .append(tensor.begin())
                    .append(',')
                    .append(tensor.end())
                    .append("]}");
            first = false;
        }
        byte[] bytes = json.append('}').toString().getBytes(StandardCharsets.UTF_8);
        int padded = (bytes.length + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        byte[] header = Arrays.copyOf(bytes, padded);
        Arrays.fill(header, bytes.length, padded, (byte) ' ');
        return header;
    }

    /** Appends a JSON string escaped as serde_json does: only quote, backslash and controls. */
    private static StringBuilder string(StringBuilder json, String value) {
        requireWellFormed(value);
        json.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"':
                    json.append("\\\"");
                    break;
                case '\\':
                    json.append("\\\\");
                    break;
                case '\b':
                    json.append("\\b");
                    break;
                case '\f':
                    json.append("\\f");
                    break;
                case '\n':
                    json.append("\\n");
                    break;
                case '\r':
                    json.append("\\r");
                    break;
                case '\t':
                    json.append("\\t");
                    break;
                default:
                    if (c < 0x20) {
                        json.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xF]);
                    } else {
                        json.append(c);
                    }
            }
        }
        return json.append('"');
    }

    private static void requireWellFormed(String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isHighSurrogate(c)
                    && i + 1 < value.length()
                    && Character.isLowSurrogate(value.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException(
                        "string with an unpaired surrogate at index "
                                + i
                                + " cannot be written as UTF-8");
            }
        }
    }
}
