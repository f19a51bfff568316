package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Library lookup, each case in a fresh JVM (the library is loaded once per process). */
class LoadingTest {
    /** Run in the child JVM: prints the version and where the library came from. */
    public static final class PrintVersion {
        public static void main(String[] args) {
            try {
                System.out.println(WsPrune.version() + " " + WsPrune.libraryPath());
            } catch (UnsatisfiedLinkError first) {
                try {
                    WsPrune.version();
                } catch (UnsatisfiedLinkError second) {
                    // Every call gets the same clear error, not NoClassDefFoundError.
                    System.out.println(first.getMessage().equals(second.getMessage()) ? "same error twice" : "");
                }
                throw first;
            }
        }
    }

    private record Run(int code, String out) {}

    private static Run child(Map<String, String> env, String... jvmArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(jvmArgs));
        cmd.add("-cp");
        cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        cmd.add(PrintVersion.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("WSPRUNE_LIBRARY");
        pb.environment().remove("LD_LIBRARY_PATH");
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Run(p.exitValue(), out);
    }

    private static Path loadedFile() {
        Path p = Path.of(WsPrune.libraryPath());
        Assumptions.assumeTrue(Files.isRegularFile(p), "the library was found by name, not as a file: " + p);
        return p;
    }

    @Test
    void explicitPathIsUsed() throws Exception {
        Path lib = loadedFile();
        Run r = child(Map.of("WSPRUNE_LIBRARY", lib.toString()));
        assertEquals(0, r.code(), r.out());
        assertEquals(WsPrune.version() + " " + lib, r.out().strip());
    }

    @Test
    void aWrongExplicitPathIsNamedInTheError() throws Exception {
        Run r = child(Map.of("WSPRUNE_LIBRARY", "/nonexistent/libwsprune.so"));
        assertNotEquals(0, r.code());
        assertTrue(r.out().contains("WSPRUNE_LIBRARY=/nonexistent/libwsprune.so could not be loaded"), r.out());
        assertTrue(r.out().contains("same error twice"), r.out());
    }

    @Test
    void anOlderLibraryIsRefusedWithItsVersionAndTheMissingFunctions(@org.junit.jupiter.api.io.TempDir Path tmp)
            throws Exception {
        // A stand-in for a library from before 0.3.0: it has the first functions only.
        Path src = tmp.resolve("old.c");
        Files.writeString(src, "const char *wsprune_version(void) { return \"0.2.0\"; }\n"
                + "const char *wsprune_status_name(int s) { (void)s; return \"WSPRUNE_STATUS_OK\"; }\n");
        Path so = tmp.resolve("libold.so");
        Process cc;
        try {
            cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-o", so.toString(), src.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("no C compiler: " + e.getMessage());
            return;
        }
        String ccOut = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(cc.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, cc.exitValue(), ccOut);
        Run r = child(Map.of("WSPRUNE_LIBRARY", so.toString()));
        assertNotEquals(0, r.code());
        assertTrue(r.out().contains("libwsprune 0.2.0 (" + so + ") lacks "), r.out());
        assertTrue(r.out().contains("wsprune_list_sessions") && r.out().contains("wsprune_session_open"), r.out());
        assertFalse(r.out().contains("wsprune_version,"), r.out());
        assertTrue(r.out().contains("same error twice"), r.out());
    }

    @Test
    void jnaLibraryPathIsSearched() throws Exception {
        Path lib = loadedFile();
        Run r = child(Map.of(), "-Djna.library.path=" + lib.getParent());
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().startsWith(WsPrune.version() + " "), r.out());
    }

    @Test
    void notFoundListsWhatWasTried() throws Exception {
        Run r = child(Map.of(), "-Djna.library.path=/nonexistent-dir");
        Assumptions.assumeTrue(r.code() != 0, "libwsprune is installed system-wide: " + r.out());
        assertTrue(r.out().contains("libwsprune not found"), r.out());
        assertTrue(r.out().contains("jna.library.path=/nonexistent-dir"), r.out());
        assertTrue(r.out().contains("WSPRUNE_LIBRARY"), r.out());
    }
}
