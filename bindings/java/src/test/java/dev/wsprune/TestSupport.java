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

    /** Rewrites the metadata with updated_at = created_at = now - age. */
    static void backdate(Path root, String id, Duration age) throws IOException {
        String t = STAMP.format(Instant.now().minus(age));
        Files.writeString(metadata(root, id), "{\"session_id\":\"" + id + "\",\"created_at\":\"" + t
                + "\",\"updated_at\":\"" + t + "\",\"version\":1}", StandardCharsets.UTF_8);
    }

    static Path metadata(Path root, String id) {
        return root.resolve(id).resolve(".metadata.json");
    }

    /** The metadata's fields (through the binding's JSON reader). */
    @SuppressWarnings("unchecked")
    static Map<String, Object> readMetadata(Path root, String id) throws IOException {
        return (Map<String, Object>) Json.parse(Files.readString(metadata(root, id)));
    }

    static Instant updatedAt(Path root, String id) throws IOException {
        return Instant.parse((String) readMetadata(root, id).get("updated_at"));
    }

    /** The names in a directory, sorted. */
    static java.util.List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }
}
