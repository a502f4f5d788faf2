package io.peft4j.it.agent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The sockets a process listens on, read from {@code /proc} as {@code ss -lntpx} would: the socket inodes among the
 * process's open files ({@code /proc/PID/fd} links {@code socket:[INODE]}), matched against the kernel's tables
 * {@code /proc/PID/net/tcp}, {@code tcp6} (state {@code 0A}, LISTEN) and {@code unix} (flag {@code __SO_ACCEPTCON},
 * 0x10000: a listening socket). Each is described as {@code tcp ADDRESS:PORT}, {@code tcp6 ADDRESS:PORT} or
 * {@code unix PATH}.
 */
final class ListeningSockets {

    private static final int SO_ACCEPTCON = 0x10000;

    private ListeningSockets() {}

    /** Whether this system has the {@code /proc} files read here (Linux). */
    static boolean supported() {
        Path self = Path.of("/proc/self");
        return Files.isDirectory(self.resolve("fd")) && Files.isReadable(self.resolve("net/tcp"))
                && Files.isReadable(self.resolve("net/unix"));
    }

    /** The listening sockets of process {@code pid}. */
    static Set<String> of(long pid) {
        Path proc = Path.of("/proc", Long.toString(pid));
        Set<String> inodes = socketInodes(proc.resolve("fd"));
        Set<String> out = new TreeSet<>();
        for (String table : List.of("tcp", "tcp6")) {
            for (String line : lines(proc.resolve("net").resolve(table))) {
                String[] f = line.trim().split("\\s+");
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                if (f.length > 9 && "0A".equals(f[3]) && inodes.contains(f[9])) {
                    String[] local = f[1].split(":");
                    out.add(table + " " + local[0] + ":" + Integer.parseInt(local[1], 16));
                }
            }
        }
        for (String line : lines(proc.resolve("net/unix"))) {
            String[] f = line.trim().split("\\s+");
            // Num RefCount Protocol Flags Type St Inode [Path]
            if (f.length > 6 && f[0].endsWith(":") && (Integer.parseInt(f[3], 16) & SO_ACCEPTCON) != 0
                    && inodes.contains(f[6])) {
                out.add("unix " + (f.length > 7 ? f[7] : "(unnamed, inode " + f[6] + ")"));
            }
        }
        return out;
    }

    private static Set<String> socketInodes(Path fds) {
        Set<String> inodes = new HashSet<>();
        try (Stream<Path> links = Files.list(fds)) {
            for (Path link : links.toList()) {
                try {
                    String target = Files.readSymbolicLink(link).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring("socket:[".length(), target.length() - 1));
                    }
                } catch (NoSuchFileException e) {
                    // closed while listing
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + fds, e);
        }
        return inodes;
    }

    private static List<String> lines(Path file) {
        try {
            List<String> all = Files.readAllLines(file);
            return all.subList(Math.min(1, all.size()), all.size());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
