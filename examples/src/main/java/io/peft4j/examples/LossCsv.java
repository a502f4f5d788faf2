package io.peft4j.examples;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Reads and writes per-epoch losses as {@code epoch,loss} CSV with a header line. */
public final class LossCsv {

    private static final String HEADER = "epoch,loss";

    private LossCsv() {}

    /**
     * Writes one line per epoch, numbered from 1.
     *
     * @param file the CSV file
     * @param losses the mean loss of each epoch
     * @throws IOException if writing fails
     */
    static void write(Path file, List<Double> losses) throws IOException {
        StringBuilder text = new StringBuilder(HEADER).append('\n');
        for (int i = 0; i < losses.size(); i++) {
            text.append(i + 1).append(',').append(String.format(Locale.ROOT, "%.6f", losses.get(i))).append('\n');
        }
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }

    /**
     * Reads a file {@link #write} wrote.
     *
     * @param file the CSV file
     * @return the losses, first epoch first
     * @throws IOException if reading fails or a line is malformed
     */
    public static List<Double> read(Path file) throws IOException {
        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank() || line.startsWith(HEADER)) {
                continue;
            }
            String[] cells = line.split(",");
            try {
                losses.add(Double.parseDouble(cells[1].trim()));
            } catch (RuntimeException e) {
                throw new IOException(file + ": bad line '" + line + "'", e);
            }
        }
        return losses;
    }
}
