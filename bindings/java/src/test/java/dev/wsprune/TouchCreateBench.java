package dev.wsprune;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The Java side of bindings/java/bench.sh: the latency of
 * {@link WsPrune#createSession(Path)} and {@link WsPrune#touchSession} through
 * the binding, measured exactly as bench/touch_create.c measures the C calls.
 *
 * <pre>java ... dev.wsprune.TouchCreateBench DIR SESSIONS TOUCHES</pre>
 *
 * prints {@code create_ns touch_ns} (medians). A warm-up round of the same
 * size (in DIR/warm) runs first, so the JIT has compiled the call path.
 */
public final class TouchCreateBench {
    private TouchCreateBench() {}

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: TouchCreateBench DIR SESSIONS TOUCHES");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        int t = Integer.parseInt(args[2]);
        round(dir.resolve("warm"), n, t);
        long[] r = round(dir.resolve("run"), n, t);
        System.out.println(r[0] + " " + r[1]);
    }

    private static long[] round(Path root, int n, int t) {
        String[] ids = new String[n];
        long[] c = new long[n];
        long[] u = new long[t];
        for (int i = 0; i < n; i++) {
            long s = System.nanoTime();
            ids[i] = WsPrune.createSession(root);
            c[i] = System.nanoTime() - s;
        }
        for (int i = 0; i < t; i++) {
            long s = System.nanoTime();
            WsPrune.touchSession(root, ids[i % n]);
            u[i] = System.nanoTime() - s;
        }
        return new long[] {median(c), median(u)};
    }

    private static long median(long[] v) {
        Arrays.sort(v);
        return v[v.length / 2];
    }
}
