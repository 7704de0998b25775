/**
 * Relaxed durability for the call's high-rate writes, in the statement itself.
 *
 * Why: every commit waits for its WAL to reach the disk (synchronous_commit = on). On a busy or
 * virtualised disk that flush now and then stalls for a few hundred milliseconds, and every writer
 * waiting on it holds a pool connection meanwhile: at 1,000 members `bench:capacity` saw all ten
 * connections stuck behind such a flush every 20–30 s, and mute toggles take 300–700 ms to reach
 * the room. Signs of life (heartbeats, PeerServer touches, a session's last use) and media flags are
 * rewritten within seconds anyway, so they commit without waiting for the flush. Postgres's
 * guarantee for such a transaction: the database stays consistent; only if Postgres itself crashes
 * may the last ~0.6 s of them (3 × wal_writer_delay) be lost, which a call tolerates (its members
 * are re-admitted or dropped after a database restart regardless). Joins, leaves, chat, accounts
 * and studies keep the default.
 *
 * How: `set_config(..., is_local => true)` is SET LOCAL; it lasts until the end of the statement's
 * own (implicit) transaction and is read at its commit, so the write stays one round trip. Join
 * the fragment into the statement (`FROM … , ${RELAXED_COMMIT} relaxed`): it yields one row.
 */
export const RELAXED_COMMIT = `(SELECT set_config('synchronous_commit', 'off', true) AS synchronous_commit)`;
