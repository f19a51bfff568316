package dev.wsprune;

/**
 * A failed wsprune call: the library's {@link Status} and message. Unchecked,
 * like {@link java.io.UncheckedIOException}: switch on {@link #status()} where
 * a status matters (e.g. {@code ALREADY_EXISTS}, {@code BUSY}).
 */
public class WsPruneException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final Status status;

    /** An exception with the given status and message. */
    public WsPruneException(Status status, String message) {
        super(message);
        this.status = java.util.Objects.requireNonNull(status, "status");
    }

    /** The status of the call. */
    public Status status() {
        return status;
    }

    @Override
    public String toString() {
        return "WsPruneException[" + status + "]: " + getMessage();
    }
}
