import { describe, expect, it } from "vitest";
import { createServices } from "../../server/services/index.js";
import { DomainError } from "../../server/services/errors.js";
import { useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";

const db = useTestDatabase();
const services = () => createServices(db().sequelize, { SESSION_SECRET: "x".repeat(32) });

describe("studies", () => {
  it("makes the creator the OWNER and lists the study for them", async () => {
    const s = services();
    const me = await makeUser("Owner");
    const study = await s.studies.create(me.id, { name: "Graphs", description: "BFS & DFS" });
    const mine = await s.studies.listMine(me.id);
    expect(mine).toEqual([
      expect.objectContaining({ id: study.id, name: "Graphs", role: "OWNER", status: "ACTIVE", memberCount: 1 }),
    ]);
  });

  it("joins by invite code as ACTIVE, or PENDING when approval is required", async () => {
    const s = services();
    const owner = await makeUser("Owner");
    const open = await makeStudy(owner);
    const gated = await makeStudy(owner, { requiresApproval: true });
    const joiner = await makeUser("Joiner");
    expect((await s.studies.joinByCode(joiner.id, open.inviteCode.toLowerCase())).status).toBe("ACTIVE");
    expect((await s.studies.joinByCode(joiner.id, gated.inviteCode)).status).toBe("PENDING");
    await expect(s.studies.getForMember(joiner.id, gated.id)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await s.studies.approve(owner.id, gated.id, { userId: joiner.id });
    const view = await s.studies.getForMember(joiner.id, gated.id);
    expect(view.members.map((m) => m.name).sort()).toEqual(["Joiner", "Owner"]);
    // a plain member doesn't get to see the invite code
    expect(view.study.inviteCode).toBeNull();
  });

  it("denies non-members, banned members and unknown studies without leaking data", async () => {
    const s = services();
    const owner = await makeUser("Owner");
    const study = await makeStudy(owner);
    const stranger = await makeUser("Stranger");
    const banned = await makeUser("Banned");
    await addMember(study, banned, "BANNED");
    await expect(s.studies.getForMember(stranger.id, study.id)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(s.studies.getForMember(banned.id, study.id)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(s.studies.joinByCode(banned.id, study.inviteCode)).rejects.toBeInstanceOf(DomainError);
    await expect(s.studies.getForMember(owner.id, "00000000-0000-4000-8000-000000000000")).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(s.studies.getForMember(owner.id, "not-a-uuid")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("lets only managers change roles, and never the owner's", async () => {
    const s = services();
    const owner = await makeUser("Owner");
    const study = await makeStudy(owner);
    const bob = await makeUser("Bob");
    const carol = await makeUser("Carol");
    await addMember(study, bob);
    await addMember(study, carol);
    await expect(s.studies.changeRole(bob.id, study.id, { userId: carol.id, role: "ADMIN" })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    await s.studies.changeRole(owner.id, study.id, { userId: bob.id, role: "ADMIN" });
    await expect(s.studies.changeRole(bob.id, study.id, { userId: owner.id, role: "MEMBER" })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    const view = await s.studies.getForMember(owner.id, study.id);
    expect(view.members.find((m) => m.userId === bob.id)?.role).toBe("ADMIN");
  });
});
