package io.peft4j.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
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
    private static final JsonFactory JSON = new JsonFactory();

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
        // A Reader, so that Jackson cannot guess another encoding from the first bytes.
        Reader reader =
                new InputStreamReader(new ByteArrayInputStream(header), StandardCharsets.UTF_8);
        String current = null;
        try (JsonParser json = JSON.createParser(reader)) {
            if (json.nextToken() != JsonToken.START_OBJECT) {
                throw error(null, "header is not a JSON object");
            }
            Map<String, String> metadata = null;
            Map<String, TensorEntry> tensors = new LinkedHashMap<>();
            while (json.nextToken() == JsonToken.FIELD_NAME) {
                current = json.currentName();
                json.nextToken();
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
            if (json.nextToken() != null) {
                throw error(null, "unexpected content after the header's JSON object");
            }
            return new Header(
                    metadata == null ? Map.of() : Collections.unmodifiableMap(metadata),
                    List.copyOf(tensors.values()));
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(
                    file, current, "header is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            if (e instanceof SafetensorsException) {
                throw (SafetensorsException) e;
            }
            throw new SafetensorsException(file, current, "cannot parse header: " + e, e);
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

    private Map<String, String> parseMetadata(JsonParser json) throws IOException {
        String key = SafetensorsFile.METADATA_KEY;
        Map<String, String> metadata = new LinkedHashMap<>();
        if (json.currentToken() == JsonToken.VALUE_NULL) {
            return metadata;
        }
        if (json.currentToken() != JsonToken.START_OBJECT) {
            throw error(key, "must be a JSON object of strings, found " + json.currentToken());
        }
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String name = json.currentName();
            if (json.nextToken() != JsonToken.VALUE_STRING) {
                throw error(key, "value of \"" + name + "\" is not a string");
            }
            if (metadata.put(name, json.getText()) != null) {
                throw error(key, "duplicate metadata key \"" + name + "\"");
            }
        }
        return metadata;
    }

    private TensorEntry parseTensor(JsonParser json, String name) throws IOException {
        if (json.currentToken() != JsonToken.START_OBJECT) {
            throw error(name, "entry is not a JSON object");
        }
        SafetensorsDType dtype = null;
        long[] shape = null;
        long[] offsets = null;
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String field = json.currentName();
            json.nextToken();
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

    private SafetensorsDType parseDType(JsonParser json, String name) throws IOException {
        if (json.currentToken() != JsonToken.VALUE_STRING) {
            throw error(name, "\"dtype\" is not a string");
        }
        try {
            return SafetensorsDType.fromHeader(json.getText());
        } catch (IllegalArgumentException e) {
            throw new SafetensorsException(file, name, e.getMessage(), e);
        }
    }

    /** Parses an array of integers that must each fit in a long and be {@code >= 0}. */
    private long[] parseNaturals(JsonParser json, String name, String field) throws IOException {
        if (json.currentToken() != JsonToken.START_ARRAY) {
            throw error(name, "\"" + field + "\" is not an array");
        }
        List<Long> values = new ArrayList<>();
        while (json.nextToken() != JsonToken.END_ARRAY) {
            if (json.currentToken() != JsonToken.VALUE_NUMBER_INT) {
                throw error(name, "\"" + field + "\" holds " + json.getText() + ", not an integer");
            }
            if (json.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                throw error(
                        name, "\"" + field + "\" holds " + json.getText() + ", which is too large");
            }
            long value = json.getLongValue();
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
