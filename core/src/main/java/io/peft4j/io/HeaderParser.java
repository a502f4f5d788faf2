package io.peft4j.io;

import io.peft4j.io.JsonReader.Token;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses the JSON header of a safetensors file strictly: UTF-8, one JSON object, no duplicate keys,
 * a {@code "__metadata__"} map of strings, and tensor entries with exactly {@code dtype}, {@code
 * shape} and {@code data_offsets}. Offsets are checked against the data buffer separately, by
 * {@link DataLayout}.
 */
final class HeaderParser {
    /**
     * The parsed header.
     *
     * @param metadata the {@code "__metadata__"} map in header order; empty when absent
     * @param tensors the tensor entries in header order
     */
    record Header(Map<String, String> metadata, List<TensorEntry> tensors) {}

    private final Path file;

    private HeaderParser(Path file) {
        this.file = file;
    }

    /**
     * Parses header bytes.
     *
     * @param file the file the header comes from, for error messages
     * @param header the header bytes, without the 8-byte length prefix
     * @return the metadata and tensor entries
     * @throws SafetensorsException if the header is not valid
     */
    static Header parse(Path file, byte[] header) throws SafetensorsException {
        return new HeaderParser(file).parse(header);
    }

    private Header parse(byte[] header) throws SafetensorsException {
        checkUtf8(header);
        String current = null;
        try {
            JsonReader json = JsonReader.of(new String(header, StandardCharsets.UTF_8));
            if (json.next() != Token.START_OBJECT) {
                throw error(null, "header is not a JSON object");
            }
            Map<String, String> metadata = null;
            Map<String, TensorEntry> tensors = new LinkedHashMap<>();
            while (json.next() == Token.NAME) {
                current = json.name();
                json.next();
                if (SafetensorsFile.METADATA_KEY.equals(current)) {
                    if (metadata != null) {
                        throw error(current, "duplicate key in header");
                    }
                    metadata = parseMetadata(json);
                } else {
                    if (tensors.containsKey(current)) {
                        throw error(current, "duplicate key in header");
                    }
                    tensors.put(current, parseTensor(json, current));
                }
                current = null;
            }
            try {
                json.next(); // only whitespace may follow the object
            } catch (JsonSyntaxException e) {
                throw error(null, "unexpected content after the header's JSON object");
            }
            return new Header(
                    metadata == null ? Map.of() : Collections.unmodifiableMap(metadata),
                    List.copyOf(tensors.values()));
        } catch (JsonSyntaxException e) {
            throw new SafetensorsException(file, current, "header is not valid JSON: " + e.getMessage(), e);
        }
    }

    private void checkUtf8(byte[] header) throws SafetensorsException {
        CharsetDecoder decoder =
                StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(header);
        CharBuffer out = CharBuffer.allocate(8192);
        CoderResult result;
        do {
            out.clear();
            result = decoder.decode(in, out, true);
            if (result.isError()) {
                throw error(
                        null,
                        "header is not valid UTF-8 (bad byte at header offset "
                                + in.position()
                                + ")");
            }
        } while (result.isOverflow());
        do {
            out.clear();
        } while (decoder.flush(out).isOverflow());
    }

    private Map<String, String> parseMetadata(JsonReader json)
            throws JsonSyntaxException, SafetensorsException {
        String key = SafetensorsFile.METADATA_KEY;
        Map<String, String> metadata = new LinkedHashMap<>();
        if (json.current() == Token.NULL) {
            return metadata;
        }
        if (json.current() != Token.START_OBJECT) {
            throw error(key, "must be a JSON object of strings, found " + json.current());
        }
        while (json.next() == Token.NAME) {
            String name = json.name();
            if (json.next() != Token.STRING) {
                throw error(key, "value of \"" + name + "\" is not a string");
            }
            if (metadata.put(name, json.text()) != null) {
                throw error(key, "duplicate metadata key \"" + name + "\"");
            }
        }
        return metadata;
    }

    private TensorEntry parseTensor(JsonReader json, String name)
            throws JsonSyntaxException, SafetensorsException {
        if (json.current() != Token.START_OBJECT) {
            throw error(name, "entry is not a JSON object");
        }
        SafetensorsDType dtype = null;
        long[] shape = null;
        long[] offsets = null;
        while (json.next() == Token.NAME) {
            String field = json.name();
            json.next();
            switch (field) {
                case "dtype":
                    requireFirst(name, field, dtype);
                    dtype = parseDType(json, name);
                    break;
                case "shape":
                    requireFirst(name, field, shape);
                    shape = parseNaturals(json, name, field);
                    break;
                case "data_offsets":
                    requireFirst(name, field, offsets);
                    offsets = parseNaturals(json, name, field);
                    if (offsets.length != 2) {
                        throw error(
                                name,
                                "\"data_offsets\" must hold 2 numbers, not " + offsets.length);
                    }
                    break;
                default:
                    throw error(name, "unknown field \"" + field + "\"");
            }
        }
        if (dtype == null) {
            throw error(name, "missing \"dtype\"");
        }
        if (shape == null) {
            throw error(name, "missing \"shape\"");
        }
        if (offsets == null) {
            throw error(name, "missing \"data_offsets\"");
        }
        return new TensorEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private void requireFirst(String name, String field, Object previous)
            throws SafetensorsException {
        if (previous != null) {
            throw error(name, "duplicate field \"" + field + "\"");
        }
    }

    private SafetensorsDType parseDType(JsonReader json, String name)
            throws JsonSyntaxException, SafetensorsException {
        if (json.current() != Token.STRING) {
            throw error(name, "\"dtype\" is not a string");
        }
        try {
            return SafetensorsDType.fromHeader(json.text());
        } catch (IllegalArgumentException e) {
            throw new SafetensorsException(file, name, e.getMessage(), e);
        }
    }

    /** Parses an array of integers that must each fit in a long and be {@code >= 0}. */
    private long[] parseNaturals(JsonReader json, String name, String field)
            throws JsonSyntaxException, SafetensorsException {
        if (json.current() != Token.START_ARRAY) {
            throw error(name, "\"" + field + "\" is not an array");
        }
        List<Long> values = new ArrayList<>();
        while (json.next() != Token.END_ARRAY) {
            if (json.current() != Token.INTEGER) {
                throw error(name, "\"" + field + "\" holds " + json.text() + ", not an integer");
            }
            if (!json.isLong()) {
                throw error(
                        name, "\"" + field + "\" holds " + json.text() + ", which is too large");
            }
            long value = json.longValue();
            if (value < 0) {
                throw error(name, "\"" + field + "\" holds the negative number " + value);
            }
            values.add(value);
        }
        return values.stream().mapToLong(Long::longValue).toArray();
    }

    private SafetensorsException error(String key, String message) {
        return new SafetensorsException(file, key, message, null);
    }
}
