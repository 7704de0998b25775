import { randomBytes } from "node:crypto";
import { Study, StudyMember, User, type MemberRole, type MemberStatus } from "../../db/models/index.js";

// A cheap fixed hash: these users never log in through argon2 in integration tests.
const FAKE_HASH = "$argon2id$v=19$m=19456,t=2,p=1$ZmFrZXNhbHQ$ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNo";

export async function makeUser(name = "User"): Promise<User> {
  const tag = randomBytes(4).toString("hex");
  return User.create({
    name,
    email: `${name.toLowerCase()}-${tag}@example.test`,
    passwordHash: FAKE_HASH,
    avatarUrl: null,
  });
}

export async function makeStudy(owner: User, opts: { requiresApproval?: boolean } = {}): Promise<Study> {
  const study = await Study.create({
    name: `Study ${randomBytes(3).toString("hex")}`,
    description: "",
    ownerId: owner.id,
    inviteCode: randomBytes(5).toString("hex").toUpperCase(),
    requiresApproval: opts.requiresApproval ?? false,
  });
  await StudyMember.create({ studyId: study.id, userId: owner.id, role: "OWNER", status: "ACTIVE" });
  return study;
}

export async function addMember(
  study: Study,
  user: User,
  status: MemberStatus = "ACTIVE",
  role: MemberRole = "MEMBER",
) {
  return StudyMember.create({ studyId: study.id, userId: user.id, role, status });
}
