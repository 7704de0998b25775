// Host controls across two instances: removing a member closes their signaling socket on whichever instance holds it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";
import {
  client,
  dropPrefix,
  newPrefix,
  peerSocket,
  startInstance,
  subscribe,
  type Instance,
} from "./cluster-harness.js";
import { sessionCookie } from "./video-call-harness.js";

const db = useTestDatabase();
let A: Instance;
let B: Instance;
const prefix = newPrefix();

beforeAll(async () => {
  A = await startInstance(db().sequelize, { id: "A", prefix });
  B = await startInstance(db().sequelize, { id: "B", prefix });
});
afterAll(async () => {
  await A?.stop();
  await B?.stop();
  await dropPrefix(prefix);
});

describe("host controls in a cluster", () => {
  it("Alice on A removes Bob whose socket is on B: it closes, Carol on B hears KICKED, and B refuses Bob's peer id", async () => {
    const alice = await makeUser("Alice");
    const bob = await makeUser("Bob");
    const carol = await makeUser("Carol");
    const study = await makeStudy(alice);
    await addMember(study, bob);
    await addMember(study, carol);
    const [ca, cb, cc] = await Promise.all([alice, bob, carol].map((u) => sessionCookie(A.services, u.id)));
    const { session } = await client(A.url, ca).videoCall.start.mutate({ studyId: study.id });
    await client(A.url, ca).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    const b = await client(B.url, cb).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    const sb = await peerSocket(B.url, cb!, b.peerId);
    const watcher = subscribe(B.url, cc!, { studyId: study.id });
    await watcher.until((e) => e.length > 0, "snapshot");
    const closed = new Promise<number>((resolve) => sb.ws.once("close", (code) => resolve(code)));
    await client(A.url, ca).videoCall.removeParticipant.mutate({ sessionId: session.id, userId: bob.id, ban: true });
    await closed;
    await watcher.until(
      (e) => e.some((x) => x.type === "user-left" && x.reason === "KICKED" && x.peerId === b.peerId),
      "user-left KICKED",
    );
    const again = new WebSocket(`${B.url.replace("http", "ws")}/peerjs/peerjs?key=peerjs&id=${b.peerId}&token=t`, {
      headers: { Cookie: cb! },
    });
    const status = await new Promise<number>((resolve) => {
      again.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      again.once("open", () => resolve(101));
    });
    expect(status).toBe(401);
    await expect(
      client(B.url, cb).videoCall.join.mutate({ studyId: study.id, sessionId: session.id }),
    ).rejects.toMatchObject({ message: "You were removed from this call" });
    watcher.close();
  });
});
