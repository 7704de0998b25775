import type { MigrationFn } from "../migrator.js";

/*
 * Open participations by peer id. The PeerServer's checks look a participation up by the peer id a
 * socket names (claimPeer, at every signaling socket's upgrade), and the sweeper touches the open
 * participations of every connected socket (touchPeers, `"peerId" = ANY(...)`): without an index
 * both scan the whole table, which grows with every call ever held, and the sweeper's scan holds
 * its rows locked meanwhile (a media change of one of them waits for it).
 */
export const up: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `CREATE INDEX video_call_participants_open_peer ON video_call_participants ("peerId") WHERE "leftAt" IS NULL`,
    { transaction },
  );
};

export const down: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(`DROP INDEX video_call_participants_open_peer`, { transaction });
};
