package dev.wsprune;

/**
 * The result of {@link WsPrune#openSession}.
 *
 * @param id      the session's id (the canonical spelling for a new UUID session)
 * @param created whether this call created it (false: it existed and was opened)
 */
public record OpenedSession(String id, boolean created) {}
