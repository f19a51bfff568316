import dev.wsprune.MigrateResult;
import dev.wsprune.OpenedSession;
import dev.wsprune.SessionOptions;
import dev.wsprune.Status;
import dev.wsprune.WsPrune;
import dev.wsprune.WsPruneException;
import java.nio.file.Files;
import java.nio.file.Path;

public class SessionOptionsExample {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(args.length > 0 ? args[0] : "/tmp/ws");
        Files.createDirectories(root.resolve("operator-dir")); // no metadata: not a session
        OpenedSession s = WsPrune.openSession(root, "chat-8",
                SessionOptions.builder().dirMode(0750).reserved("pip-cache").build());
        System.out.println("opened " + s.id() + " " + s.created());
        try {
            WsPrune.openSession(root, "operator-dir", SessionOptions.defaults());
        } catch (WsPruneException e) {
            if (e.status() != Status.NOT_FOUND) throw e;
            System.out.println("not adopted without asking");
        }
        WsPrune.openSession(root, "operator-dir", SessionOptions.builder().adopt(true).build()); // prunes may delete it now
        MigrateResult plan = WsPrune.migrate(root, true); // what would be registered, and what is skipped
        System.out.println("would register " + plan.registered().size() + ", skipped " + plan.skipped());
    }
}
