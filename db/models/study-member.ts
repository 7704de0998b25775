import {
  DataTypes,
  Model,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type NonAttribute,
  type Sequelize,
} from "sequelize";
import type { User } from "./user.js";

const MEMBER_ROLES = ["OWNER", "ADMIN", "MEMBER"] as const;
const MEMBER_STATUSES = ["ACTIVE", "PENDING", "LEFT", "BANNED"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

export class StudyMember extends Model<InferAttributes<StudyMember>, InferCreationAttributes<StudyMember>> {
  declare id: CreationOptional<string>;
  declare studyId: string;
  declare userId: string;
  declare role: MemberRole;
  declare status: MemberStatus;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
  declare user?: NonAttribute<User>;

  static initModel(sequelize: Sequelize): void {
    StudyMember.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        studyId: { type: DataTypes.UUID, allowNull: false },
        userId: { type: DataTypes.UUID, allowNull: false },
        role: { type: DataTypes.ENUM(...MEMBER_ROLES), allowNull: false, defaultValue: "MEMBER" },
        status: { type: DataTypes.ENUM(...MEMBER_STATUSES), allowNull: false, defaultValue: "ACTIVE" },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: "study_members" },
    );
  }
}
