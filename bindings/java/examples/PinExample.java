import dev.wsprune.PruneOptions;
import dev.wsprune.PruneResult;
import dev.wsprune.SessionOptions;
import dev.wsprune.WsPrune;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

public class PinExample {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(args.length > 0 ? args[0] : "/tmp/ws");
        Instant now = Instant.now();
        WsPrune.createSession(root, "notebook-7", SessionOptions.builder().idleTtl(Duration.ofHours(1)).build());
        WsPrune.pinSession(root, "notebook-7", now.plus(Duration.ofHours(8))); // kept for the working day
        PruneResult soon = WsPrune.prune(root,
                PruneOptions.builder().dryRun(true).asOf(now.plus(Duration.ofHours(9))).build());
        System.out.println("expiring " + soon.deletedRules()); // warn its user
        WsPrune.unpinSession(root, "notebook-7");
        WsPrune.setSessionTtl(root, "notebook-7", null, now.plus(Duration.ofDays(1))); // replaces the idle TTL
    }
}
