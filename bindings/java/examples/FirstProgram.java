import dev.wsprune.Lease;
import dev.wsprune.PruneOptions;
import dev.wsprune.PruneResult;
import dev.wsprune.SessionListing;
import dev.wsprune.Status;
import dev.wsprune.WsPrune;
import dev.wsprune.WsPruneException;
import java.nio.file.Path;
import java.time.Duration;

/** The README's first program: java -cp ... examples/FirstProgram.java [ROOT] */
public class FirstProgram {
    public static void main(String[] args) {
        Path root = Path.of(args.length > 0 ? args[0] : "/tmp/ws");
        WsPrune.setLogger(e -> System.out.println("event " + e.name() + " " + e.fields().get("session_id")));

        String id = WsPrune.createSession(root); // new UUIDv4; root created if missing
        try (Lease lease = WsPrune.acquire(root, id)) { // a prune skips it as "in_use"
            // ... run code in root.resolve(id) ...
            lease.release(true); // touch after successful execution
        } // close() releases (without touching) if still held

        PruneResult dry = WsPrune.prune(root, PruneOptions.builder().olderThan(Duration.ofHours(24)).dryRun(true).build());
        System.out.println(dry); // Would prune 0 sessions (0 skipped, 0 errors), would reclaim 0 B

        // Cap the workspace at 50 GiB, least recently used first, 8 at a time.
        PruneResult capped = WsPrune.prune(root,
                PruneOptions.builder().noAgeRule().maxTotalBytes(50L << 30).jobs(8).build());
        capped.deletedRules().forEach((s, rule) -> System.out.println(s + " went by rule " + rule));

        for (SessionListing s : WsPrune.listSessions(root)) { // what is left, measured
            System.out.println(s.id() + " " + s.state().wireName() + " " + s.sizeBytes().orElse(-1) + " bytes");
        }
        // The metadata as stored, e.g. {session_id=..., created_at=..., updated_at=..., version=1}
        System.out.println("stored " + WsPrune.readMetadata(root, id).metadata().orElseThrow());

        try {
            WsPrune.touchSession(root, "../etc");
        } catch (WsPruneException e) {
            if (e.status() == Status.INVALID_SESSION_ID) {
                System.out.println("refused: " + e.getMessage());
            }
        }
        WsPrune.setLogger(null);
    }
}
