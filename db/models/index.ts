import type { Sequelize } from "sequelize";
import { Session } from "./session.js";
import { Study } from "./study.js";
import { StudyMember } from "./study-member.js";
import { User } from "./user.js";
import { VideoCallParticipant, VideoCallSession } from "./video-call.js";

export { Session, Study, StudyMember, User, VideoCallParticipant, VideoCallSession };
export * from "./study-member.js";
export type { LeaveReason } from "../../machines/room-protocol.js";

let initialised: Sequelize | null = null;

/** Binds the model classes to one connection; one process talks to one database. */
export function initModels(sequelize: Sequelize): void {
  if (initialised === sequelize) return;
  User.initModel(sequelize);
  Study.initModel(sequelize);
  StudyMember.initModel(sequelize);
  VideoCallSession.initModel(sequelize);
  VideoCallParticipant.initModel(sequelize);
  Session.initModel(sequelize);

  Study.belongsTo(User, { as: "owner", foreignKey: "ownerId" });
  StudyMember.belongsTo(User, { as: "user", foreignKey: "userId" });
  StudyMember.belongsTo(Study, { as: "study", foreignKey: "studyId" });
  Study.hasMany(StudyMember, { as: "members", foreignKey: "studyId" });
  VideoCallSession.hasMany(VideoCallParticipant, { as: "participants", foreignKey: "sessionId" });
  VideoCallParticipant.belongsTo(VideoCallSession, { as: "session", foreignKey: "sessionId" });
  VideoCallParticipant.belongsTo(User, { as: "user", foreignKey: "userId" });
  initialised = sequelize;
}
