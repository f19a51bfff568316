package dev.wsprune;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Builds sessions on a real filesystem for the tests. */
final class TestSupport {
    private TestSupport() {}

    static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
            .withZone(ZoneOffset.UTC);

    /** Creates a session through the library, then backdates its updated_at by {@code age}, with {@code bytes} of data. */
    static String session(Path root, Duration age, int bytes) throws IOException {
        String id = WsPrune.createSession(root);
        backdate(root, id, age);
        if (bytes > 0) {
            Files.write(root.resolve(id).resolve("data.bin"), new byte[bytes]);
        }
        return id;
    }

    /**
     * Rewrites the metadata with updated_at = created_at = now - age: the
     * session's record in the host directory too when it is registered (the
     * record is what every call decides on; .metadata.json is its mirror,
     * docs/host-state.md).
     */
    static void backdate(Path root, String id, Duration age) throws IOException {
        String t = STAMP.format(Instant.now().minus(age));
        String text = "{\"session_id\":\"" + id + "\",\"created_at\":\"" + t + "\",\"updated_at\":\"" + t
                + "\",\"version\":1}";
        Path record = record(root, id);
        if (Files.exists(record)) {
            Files.writeString(record, text, StandardCharsets.UTF_8);
        }
        Files.writeString(metadata(root, id), text, StandardCharsets.UTF_8);
    }

    /** The session's record in the root's host directory. */
    static Path record(Path root, String id) {
        return root.resolve(".wsprune").resolve("sessions").resolve(id);
    }

    /**
     * Makes a registered session an unregistered directory (as the reference
     * implementation or wsprune 0.3 left one), judged by its own .metadata.json.
     */
    static void unregister(Path root, String id) throws IOException {
        Files.deleteIfExists(record(root, id));
        Files.deleteIfExists(root.resolve(".wsprune").resolve("locks").resolve(id));
    }

    static Path metadata(Path root, String id) {
        return root.resolve(id).resolve(".metadata.json");
    }

    /** The metadata's fields (through the binding's JSON reader). */
    @SuppressWarnings("unchecked")
    static Map<String, Object> readMetadata(Path root, String id) throws IOException {
        return (Map<String, Object>) Json.parse(Files.readString(metadata(root, id)));
    }

    /**
     * What {@code du -sB1 dir} says it takes: its allocated blocks and its entries', each inode once,
     * the size the library reports (docs/contract.md), measured independently of it.
     */
    static long du(Path dir) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("du", "-sB1", dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("du -sB1 " + dir + ": " + out);
        }
        return Long.parseLong(out.split("\\s+", 2)[0]);
    }

    static Instant updatedAt(Path root, String id) throws IOException {
        return Instant.parse((String) readMetadata(root, id).get("updated_at"));
    }

    /** The names in a directory, sorted. */
    static java.util.List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            // The host directory (.wsprune) is wsprune's own, beside the sessions.
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.equals(".wsprune")).sorted()
                    .collect(Collectors.toList());
        }
    }
}
