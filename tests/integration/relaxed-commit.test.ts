// The call's high-rate writes (signs of life, media flags, a session's last use) commit without waiting
// for the WAL flush, each still in one statement; joins and leaves keep the default, and a relaxed
// statement leaves nothing behind on its pooled connection.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import { createSequelize } from "../../db/connection.js";
import { RELAXED_COMMIT } from "../../db/relaxed-commit.js";
import { createServices, type Services } from "../../server/services/index.js";
import { useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";

const db = useTestDatabase();
let services: Services;
/** Every statement the services send, in order. */
const sent: string[] = [];

beforeAll(() => {
  const sequelize = db().sequelize;
  const query = sequelize.query.bind(sequelize) as (...args: unknown[]) => Promise<unknown>;
  (sequelize as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (sql: unknown, ...rest) => {
    sent.push(typeof sql === "string" ? sql : String((sql as { query?: string }).query ?? sql));
    return query(sql, ...rest);
  };
  services = createServices(sequelize, { SESSION_SECRET: "x".repeat(32) });
});
afterAll(async () => {
  await services?.stop();
});

/** The statements `action` sends. */
async function statementsOf(action: () => Promise<unknown>): Promise<string[]> {
  const from = sent.length;
  await action();
  // The session store's touch is fire-and-forget: give it a moment to be sent.
  await new Promise((r) => setTimeout(r, 50));
  return sent.slice(from);
}
const relaxed = (sql: string) => sql.includes(RELAXED_COMMIT);

describe("relaxed commit", () => {
  it("turns synchronous_commit off for its own transaction only, leaving the pooled connection as it was", async () => {
    const one: Sequelize = createSequelize(db().url, { poolMax: 1 });
    try {
      const setting = async (transaction?: Transaction) => {
        const [row] = await one.query<{ v: string }>(`SELECT current_setting('synchronous_commit') AS v`, {
          type: QueryTypes.SELECT,
          transaction,
        });
        return row!.v;
      };
      const inside = await one.transaction(async (transaction) => {
        await one.query(`SELECT 1 FROM ${RELAXED_COMMIT} relaxed`, { transaction });
        return setting(transaction);
      });
      expect(inside).toBe("off");
      // An autocommit statement on the only connection, then the next statement on the same one.
      await one.query(`SELECT 1 FROM ${RELAXED_COMMIT} relaxed`);
      expect(await setting()).toBe("on");
    } finally {
      await one.close();
    }
  });

  it("covers heartbeats, media changes and a session's last use, and not joins or leaves", async () => {
    const alice = await makeUser("Alice");
    const bob = await makeUser("Bob");
    const study = await makeStudy(alice);
    await addMember(study, bob);
    const studyId = study.id;
    const { session } = await services.videoCall.start(alice.id, { studyId });
    const sessionId = session.id;

    const join = await statementsOf(() => services.videoCall.join(alice.id, { studyId, sessionId }));
    expect(join.some((s) => s.includes("video_call_join"))).toBe(true);
    expect(join.filter(relaxed)).toEqual([]);

    const heartbeat = await statementsOf(() => services.videoCall.heartbeat(alice.id, { studyId, sessionId }));
    expect(heartbeat.filter((s) => s.includes(`"lastSeenAt"`)).every(relaxed)).toBe(true);
    expect(heartbeat.some(relaxed)).toBe(true);

    const mute = await statementsOf(() =>
      services.videoCall.setMedia(alice.id, {
        studyId,
        sessionId,
        audio: false,
        video: true,
        screen: false,
        speaking: false,
      }),
    );
    expect(mute.filter((s) => s.includes("video_call_set_media_as"))).toHaveLength(1);
    expect(mute.filter((s) => s.includes("video_call_set_media_as")).every(relaxed)).toBe(true);
    // The relaxed statement still did its job: the room sees Alice muted.
    const status = await services.videoCall.status(bob.id, { studyId });
    expect(status.session?.participants.find((p) => p.userId === alice.id)?.audio).toBe(false);

    const leave = await statementsOf(() => services.videoCall.leave(alice.id, { studyId, sessionId }));
    expect(leave.some((s) => s.includes("video_call_close"))).toBe(true);
    expect(leave.filter(relaxed)).toEqual([]);
  });

  it("records a session's last use (at most once a minute) without waiting for the flush", async () => {
    const carol = await makeUser("Carol");
    const { id } = await services.auth.sessions.create(carol.id, null);
    // Last used two minutes ago, so this resolve (not cached yet) records the use.
    await db().sequelize.query(`UPDATE sessions SET "lastUsedAt" = now() - interval '2 minutes' WHERE id = $1`, {
      bind: [id],
    });
    const first = await statementsOf(() => services.auth.sessions.resolve(id));
    const writes = first.filter((s) => s.includes(`"lastUsedAt" =`));
    expect(writes).toHaveLength(1);
    expect(writes.every(relaxed)).toBe(true);
    const [[row]] = (await db().sequelize.query(
      `SELECT now() - "lastUsedAt" < interval '10 seconds' AS fresh FROM sessions WHERE id = $1`,
      {
        bind: [id],
      },
    )) as [Array<{ fresh: boolean }>, unknown];
    expect(row!.fresh).toBe(true);
    // Within the minute, resolving again writes nothing.
    const again = await statementsOf(() => services.auth.sessions.resolve(id));
    expect(again.filter((s) => s.includes("UPDATE"))).toEqual([]);
  });
});
