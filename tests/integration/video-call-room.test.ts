// The call room's rules in Postgres: the participant cap under a burst of joins, and raised hands
// ordered by the server's clock, in status, snapshots, events and history.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VideoCallParticipant, type User } from "../../db/models/index.js";
import { logger } from "../../server/logger.js";
import { createServices, type Services } from "../../server/services/index.js";
import { createContextInner } from "../../server/trpc/context.js";
import { createCaller } from "../../server/trpc/routers/_app.js";
import { truncateAll, useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";
import { ManualClock } from "./video-call-harness.js";

const db = useTestDatabase();
const SECRET = "x".repeat(32);
let clock: ManualClock;
let services: Services;

beforeEach(async () => {
  await truncateAll(db().sequelize);
  clock = new ManualClock();
  services = createServices(db().sequelize, { SESSION_SECRET: SECRET }, { now: clock.now });
});
afterEach(() => services.stop());

function as(user: User, on: Services = services) {
  const u = { id: user.id, email: user.email, name: user.name, avatarUrl: user.avatarUrl };
  return createCaller(createContextInner({ services: on, user: u, log: logger })).videoCall;
}

async function studyOf(count: number) {
  const owner = await makeUser("Owner");
  const study = await makeStudy(owner);
  const people = [owner];
  for (let i = 1; i < count; i++) {
    const u = await makeUser(`P${i}`);
    await addMember(study, u);
    people.push(u);
  }
  return { study, people };
}

describe("MAX_PARTICIPANTS", () => {
  it("20 concurrent joins into a call of 5 let exactly one more in; the rest hear 'This call is full (6 people)'", async () => {
    // The real clock: every join reads its own time, as in production.
    const real = createServices(db().sequelize, { SESSION_SECRET: SECRET });
    try {
      const { study, people } = await studyOf(25);
      const { session } = await as(people[0]!, real).start({ studyId: study.id });
      for (const p of people.slice(0, 5)) await as(p, real).join({ studyId: study.id, sessionId: session.id });
      const results = await Promise.allSettled(
        people.slice(5).map((p) => as(p, real).join({ studyId: study.id, sessionId: session.id })),
      );
      const ok = results.filter((r) => r.status === "fulfilled");
      const refused = results.filter((r) => r.status === "rejected");
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(19);
      for (const r of refused) {
        expect(r.reason).toMatchObject({ code: "CONFLICT", message: "This call is full (6 people)" });
      }
      expect(await VideoCallParticipant.count({ where: { sessionId: session.id, leftAt: null } })).toBe(6);
      // A reload of someone already in does not count against the cap.
      await as(people[0]!, real).join({ studyId: study.id, sessionId: session.id });
      expect(await VideoCallParticipant.count({ where: { sessionId: session.id, leftAt: null } })).toBe(6);
      // When one leaves, one more may join.
      await as(people[1]!, real).leave({ sessionId: session.id });
      const waiting = people.slice(5).find((_, i) => results[i]!.status === "rejected")!;
      await expect(as(waiting, real).join({ studyId: study.id, sessionId: session.id })).resolves.toBeTruthy();
    } finally {
      await real.stop();
    }
  });

  it("follows the configured cap", async () => {
    const three = createServices(db().sequelize, { SESSION_SECRET: SECRET, MAX_PARTICIPANTS: 3 }, { now: clock.now });
    try {
      const { study, people } = await studyOf(4);
      const { session } = await as(people[0]!, three).start({ studyId: study.id });
      for (const p of people.slice(0, 3)) await as(p, three).join({ studyId: study.id, sessionId: session.id });
      await expect(as(people[3]!, three).join({ studyId: study.id, sessionId: session.id })).rejects.toMatchObject({
        code: "CONFLICT",
        message: "This call is full (3 people)",
      });
    } finally {
      await three.stop();
    }
  });
});

describe("raise hand", () => {
  it("orders hands by the server's clock, in status, join answers and events, and counts them in history", async () => {
    const { study, people } = await studyOf(3);
    const [alice, bob, carol] = people as [User, User, User];
    const { session } = await as(alice).start({ studyId: study.id });
    for (const p of people) await as(p).join({ studyId: study.id, sessionId: session.id });
    const events = (await as(alice).events({ studyId: study.id }))[Symbol.asyncIterator]();
    await events.next(); // the snapshot

    clock.advance(1);
    const bobAt = clock.now().toISOString();
    const bobHand = await as(bob).setHand({ sessionId: session.id, raised: true });
    clock.advance(1);
    const carolHand = await as(carol).setHand({ sessionId: session.id, raised: true });
    expect(Date.parse(bobHand.handRaisedAt!)).toBeLessThan(Date.parse(carolHand.handRaisedAt!));
    expect(bobHand.handRaisedAt).toBe(bobAt);

    const event = (await events.next()).value as unknown as [string, { type: string; userId: string }];
    expect(event[1]).toMatchObject({ type: "hand-changed", userId: bob.id, handRaisedAt: bobHand.handRaisedAt });

    // Raising again keeps the place in the queue.
    clock.advance(1);
    expect((await as(bob).setHand({ sessionId: session.id, raised: true })).handRaisedAt).toBe(bobHand.handRaisedAt);

    const { session: status } = await as(alice).status({ studyId: study.id });
    const raised = status!.participants
      .filter((p) => p.handRaisedAt)
      .sort((a, b) => Date.parse(a.handRaisedAt!) - Date.parse(b.handRaisedAt!))
      .map((p) => p.userId);
    expect(raised).toEqual([bob.id, carol.id]);
    expect(status!.participants.find((p) => p.userId === alice.id)?.handRaisedAt).toBeNull();

    // A late joiner learns the hands from the join answer.
    await as(alice).leave({ sessionId: session.id });
    const rejoined = await as(alice).join({ studyId: study.id, sessionId: session.id });
    expect(rejoined.participants?.find((p) => p.userId === carol.id)?.handRaisedAt).toBe(carolHand.handRaisedAt);

    await as(bob).setHand({ sessionId: session.id, raised: false });
    await as(bob).setHand({ sessionId: session.id, raised: true });
    const after = await as(alice).status({ studyId: study.id });
    expect(after.session!.participants.find((p) => p.userId === bob.id)?.handRaisedAt).not.toBe(bobHand.handRaisedAt);

    for (const p of people) await as(p).leave({ sessionId: session.id });
    const history = await as(alice).history({ studyId: study.id });
    const hands = Object.fromEntries(history.sessions[0]!.participants.map((p) => [p.userId, p.handsRaised]));
    expect(hands).toEqual({ [alice.id]: 0, [bob.id]: 2, [carol.id]: 1 });
    await events.return?.(undefined);
  });

  it("refuses a hand from someone not in the call, and bad input, with clear 4xx", async () => {
    const { study, people } = await studyOf(2);
    const { session } = await as(people[0]!).start({ studyId: study.id });
    await as(people[0]!).join({ studyId: study.id, sessionId: session.id });
    await expect(as(people[1]!).setHand({ sessionId: session.id, raised: true })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(as(people[0]!).setHand({ sessionId: session.id, raised: "yes" } as never)).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
  });
});
