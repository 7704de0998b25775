import { randomBytes } from "node:crypto";
import { Op, UniqueConstraintError, type Sequelize } from "sequelize";
import { z } from "zod";
import { Study, StudyMember, User, type MemberRole, type MemberStatus } from "../../db/models/index.js";
import { DomainError } from "./errors.js";

const StudyIdSchema = z.uuid("Study id must be a UUID");
const CreateStudySchema = z.object({
  name: z.string().trim().min(1, "Give the study a name").max(100, "Name is too long (100 characters at most)"),
  description: z.string().trim().max(2000, "Description is too long (2000 characters at most)").default(""),
  requiresApproval: z.boolean().default(false),
});
const InviteCodeSchema = z
  .string()
  .trim()
  .toUpperCase()
  .min(4, "Enter the invite code you were given")
  .max(32, "That invite code is too long")
  .regex(/^[A-Z0-9-]+$/, "Invite codes contain only letters, digits and dashes");
const MemberActionSchema = z.object({
  userId: z.uuid("Member id must be a UUID"),
});
const ChangeRoleSchema = MemberActionSchema.extend({ role: z.enum(["ADMIN", "MEMBER"]) });

interface MemberView {
  userId: string;
  name: string;
  email: string;
  avatarUrl: string | null;
  role: MemberRole;
  status: MemberStatus;
}
export interface StudySummary {
  id: string;
  name: string;
  description: string;
  role: MemberRole;
  status: MemberStatus;
  memberCount: number;
}

const MANAGERS: MemberRole[] = ["OWNER", "ADMIN"];

function newInviteCode() {
  // Unambiguous alphabet: people read these out loud in calls.
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const bytes = randomBytes(8);
  let code = "";
  for (const b of bytes) code += alphabet[b % alphabet.length];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

export class StudyService {
  constructor(private readonly sequelize: Sequelize) {}

  async listMine(userId: string): Promise<StudySummary[]> {
    const memberships = await StudyMember.findAll({
      where: { userId, status: { [Op.in]: ["ACTIVE", "PENDING"] } },
      include: [{ model: Study, as: "study" }],
      order: [["createdAt", "DESC"]],
    });
    const ids = memberships.map((m) => m.studyId);
    const counts = ids.length
      ? ((await StudyMember.count({
          where: { studyId: { [Op.in]: ids }, status: "ACTIVE" },
          group: ["studyId"],
        })) as unknown as Array<{ studyId: string; count: number }>)
      : [];
    const countOf = new Map(counts.map((c) => [c.studyId, Number(c.count)]));
    return memberships.map((m) => {
      const study = (m as unknown as { study: Study }).study;
      return {
        id: study.id,
        name: study.name,
        description: study.description,
        role: m.role,
        status: m.status,
        memberCount: countOf.get(study.id) ?? 0,
      };
    });
  }

  async create(ownerId: string, input: unknown): Promise<Study> {
    const data = CreateStudySchema.parse(input);
    return this.sequelize.transaction(async (transaction) => {
      for (let attempt = 0; ; attempt++) {
        try {
          const study = await Study.create({ ...data, ownerId, inviteCode: newInviteCode() }, { transaction });
          await StudyMember.create(
            { studyId: study.id, userId: ownerId, role: "OWNER", status: "ACTIVE" },
            { transaction },
          );
          return study;
        } catch (err) {
          if (err instanceof UniqueConstraintError && attempt < 3) continue;
          throw err;
        }
      }
    });
  }

  async joinByCode(userId: string, rawCode: unknown): Promise<{ study: Study; status: MemberStatus }> {
    const code = InviteCodeSchema.parse(rawCode);
    const study = await Study.findOne({ where: { inviteCode: code } });
    if (!study)
      throw new DomainError("NOT_FOUND", "No study has that invite code. Check it with the person who invited you.");
    const wanted: MemberStatus = study.requiresApproval ? "PENDING" : "ACTIVE";
    return this.sequelize.transaction(async (transaction) => {
      const existing = await StudyMember.findOne({ where: { studyId: study.id, userId }, transaction, lock: true });
      if (existing?.status === "BANNED") throw new DomainError("FORBIDDEN", "You can't join this study.");
      if (existing && (existing.status === "ACTIVE" || existing.status === "PENDING")) {
        return { study, status: existing.status };
      }
      if (existing) {
        await existing.update({ status: wanted, role: "MEMBER" }, { transaction });
      } else {
        await StudyMember.create({ studyId: study.id, userId, role: "MEMBER", status: wanted }, { transaction });
      }
      return { study, status: wanted };
    });
  }

  /** The study as its ACTIVE member sees it; 404 for unknown ids, 403 for everyone else. */
  async getForMember(userId: string, rawStudyId: unknown) {
    const membership = await this.requireActiveMember(userId, rawStudyId);
    const study = await Study.findByPk(membership.studyId);
    if (!study) throw new DomainError("NOT_FOUND", "This study doesn't exist.");
    const isManager = MANAGERS.includes(membership.role);
    const rows = await StudyMember.findAll({
      where: { studyId: study.id, status: { [Op.in]: isManager ? ["ACTIVE", "PENDING"] : ["ACTIVE"] } },
      include: [{ model: User, as: "user" }],
      order: [["createdAt", "ASC"]],
    });
    const members: MemberView[] = rows.map((m) => ({
      userId: m.userId,
      name: m.user!.name,
      email: m.user!.email,
      avatarUrl: m.user!.avatarUrl,
      role: m.role,
      status: m.status,
    }));
    return {
      study: {
        id: study.id,
        name: study.name,
        description: study.description,
        requiresApproval: study.requiresApproval,
        // Only managers hand out invitations.
        inviteCode: isManager ? study.inviteCode : null,
      },
      me: { role: membership.role, canManage: isManager },
      members,
    };
  }

  async requireActiveMember(userId: string, rawStudyId: unknown): Promise<StudyMember> {
    const parsed = StudyIdSchema.safeParse(rawStudyId);
    if (!parsed.success) throw new DomainError("NOT_FOUND", "This study doesn't exist.");
    const membership = await StudyMember.findOne({ where: { studyId: parsed.data, userId } });
    if (!membership) {
      const exists = await Study.count({ where: { id: parsed.data } });
      if (!exists) throw new DomainError("NOT_FOUND", "This study doesn't exist.");
      throw new DomainError("FORBIDDEN", "You are not a member of this study.");
    }
    if (membership.status === "PENDING")
      throw new DomainError("FORBIDDEN", "Your request to join this study is waiting for approval.");
    if (membership.status !== "ACTIVE") throw new DomainError("FORBIDDEN", "You are not a member of this study.");
    return membership;
  }

  private async requireManager(actorId: string, studyId: unknown) {
    const me = await this.requireActiveMember(actorId, studyId);
    if (!MANAGERS.includes(me.role))
      throw new DomainError("FORBIDDEN", "Only the study's owner or admins can do that.");
    return me;
  }

  async approve(actorId: string, studyId: unknown, input: unknown) {
    const me = await this.requireManager(actorId, studyId);
    const { userId } = MemberActionSchema.parse(input);
    const [count] = await StudyMember.update(
      { status: "ACTIVE" },
      { where: { studyId: me.studyId, userId, status: "PENDING" } },
    );
    if (!count) throw new DomainError("NOT_FOUND", "There is no pending request from that person.");
  }

  async reject(actorId: string, studyId: unknown, input: unknown) {
    const me = await this.requireManager(actorId, studyId);
    const { userId } = MemberActionSchema.parse(input);
    const count = await StudyMember.destroy({ where: { studyId: me.studyId, userId, status: "PENDING" } });
    if (!count) throw new DomainError("NOT_FOUND", "There is no pending request from that person.");
  }

  async changeRole(actorId: string, studyId: unknown, input: unknown) {
    const me = await this.requireManager(actorId, studyId);
    const { userId, role } = ChangeRoleSchema.parse(input);
    const target = await StudyMember.findOne({ where: { studyId: me.studyId, userId, status: "ACTIVE" } });
    if (!target) throw new DomainError("NOT_FOUND", "That person is not an active member of this study.");
    if (target.role === "OWNER") throw new DomainError("FORBIDDEN", "The owner's role can't be changed.");
    await target.update({ role });
  }
}
