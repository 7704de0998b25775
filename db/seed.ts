import type { Sequelize } from "sequelize";
import { hashPassword } from "./passwords.js";
import { Study, StudyMember, User, type MemberRole, type MemberStatus } from "./models/index.js";

export const DEMO_PASSWORD = "coup-demo-pass";
export const DEMO_STUDY = "Algorithms Study";

const DEMO_USERS: Array<{ email: string; name: string; role?: MemberRole; status?: MemberStatus }> = [
  { email: "alice@example.com", name: "Alice", role: "OWNER", status: "ACTIVE" },
  { email: "bob@example.com", name: "Bob", role: "MEMBER", status: "ACTIVE" },
  { email: "carol@example.com", name: "Carol", role: "MEMBER", status: "ACTIVE" },
  { email: "dave@example.com", name: "Dave", role: "MEMBER", status: "ACTIVE" },
  { email: "pat@example.com", name: "Pat", role: "MEMBER", status: "PENDING" },
  { email: "mallory@example.com", name: "Mallory" },
];

/** Idempotent: running it twice changes nothing. Never runs in production. */
export async function seedDemo(sequelize: Sequelize): Promise<{ created: boolean }> {
  if (process.env.NODE_ENV === "production") throw new Error("refusing to seed demo data in production");
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  return sequelize.transaction(async (transaction) => {
    let created = false;
    const users = new Map<string, User>();
    for (const u of DEMO_USERS) {
      const [user, isNew] = await User.findOrCreate({
        where: { email: u.email },
        defaults: { email: u.email, name: u.name, passwordHash, avatarUrl: null },
        transaction,
      });
      created ||= isNew;
      users.set(u.email, user);
    }
    const alice = users.get("alice@example.com")!;
    const [study] = await Study.findOrCreate({
      where: { name: DEMO_STUDY, ownerId: alice.id },
      defaults: {
        name: DEMO_STUDY,
        description: "Weekly problem solving: graphs, DP and greedy. Cameras on, ideas out loud.",
        ownerId: alice.id,
        inviteCode: "ALGO-2026",
        requiresApproval: true,
      },
      transaction,
    });
    for (const u of DEMO_USERS) {
      if (!u.role || !u.status) continue;
      await StudyMember.findOrCreate({
        where: { studyId: study.id, userId: users.get(u.email)!.id },
        defaults: { studyId: study.id, userId: users.get(u.email)!.id, role: u.role, status: u.status },
        transaction,
      });
    }
    return { created };
  });
}

export const DEMO_LOGINS = DEMO_USERS.map((u) => u.email);
