import {
  DataTypes,
  Model,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type NonAttribute,
  type Sequelize,
} from "sequelize";
import type { LeaveReason } from "../../machines/room-protocol.js";
import type { User } from "./user.js";

// LeaveReason is defined once, with the wire protocol. A record keyed by it must name every reason
// and no other, so the column's enum can't drift from the protocol.
const LEAVE_REASON_KEYS: Record<LeaveReason, true> = { LEFT: true, DROPPED: true, KICKED: true };
const LEAVE_REASONS = Object.keys(LEAVE_REASON_KEYS) as LeaveReason[];

export class VideoCallSession extends Model<
  InferAttributes<VideoCallSession>,
  InferCreationAttributes<VideoCallSession>
> {
  declare id: CreationOptional<string>;
  declare studyId: string;
  declare roomId: string;
  declare startedBy: string;
  declare startedAt: Date;
  declare endedAt: Date | null;
  /** seconds */
  declare duration: number | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
  declare participants?: NonAttribute<VideoCallParticipant[]>;

  static initModel(sequelize: Sequelize): void {
    VideoCallSession.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        studyId: { type: DataTypes.UUID, allowNull: false },
        roomId: { type: DataTypes.STRING(64), allowNull: false, unique: true },
        startedBy: { type: DataTypes.UUID, allowNull: false },
        startedAt: { type: DataTypes.DATE, allowNull: false },
        endedAt: { type: DataTypes.DATE, allowNull: true },
        duration: { type: DataTypes.DOUBLE, allowNull: true },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: "video_call_sessions" },
    );
  }
}

export class VideoCallParticipant extends Model<
  InferAttributes<VideoCallParticipant>,
  InferCreationAttributes<VideoCallParticipant>
> {
  declare id: CreationOptional<string>;
  declare sessionId: string;
  declare userId: string;
  declare peerId: string;
  declare joinedAt: Date;
  declare leftAt: Date | null;
  /** All times in seconds, counting only time actually present. */
  declare duration: number | null;
  declare audioMutedTime: CreationOptional<number>;
  declare videoOffTime: CreationOptional<number>;
  declare screenSharedTime: CreationOptional<number>;
  declare lastSeenAt: Date;
  declare leaveReason: LeaveReason | null;
  declare audio: boolean;
  declare video: boolean;
  declare screen: CreationOptional<boolean>;
  declare audioChangedAt: Date;
  declare videoChangedAt: Date;
  declare screenChangedAt: Date;
  /** Server clock; null while the hand is down. Orders the raised-hands queue. */
  declare handRaisedAt: CreationOptional<Date | null>;
  /** How often this participation raised its hand. */
  declare handRaises: CreationOptional<number>;
  /** The browser's own voice-activity flag; time counts while it and `audio` are on (migration 0010). */
  declare speaking: CreationOptional<boolean>;
  declare speakingChangedAt: CreationOptional<Date | null>;
  declare speakingTime: CreationOptional<number>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
  declare user?: NonAttribute<User>;

  static initModel(sequelize: Sequelize): void {
    VideoCallParticipant.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        sessionId: { type: DataTypes.UUID, allowNull: false },
        userId: { type: DataTypes.UUID, allowNull: false },
        peerId: { type: DataTypes.STRING(64), allowNull: false, unique: true },
        joinedAt: { type: DataTypes.DATE, allowNull: false },
        leftAt: { type: DataTypes.DATE, allowNull: true },
        duration: { type: DataTypes.DOUBLE, allowNull: true },
        audioMutedTime: { type: DataTypes.DOUBLE, allowNull: false, defaultValue: 0 },
        videoOffTime: { type: DataTypes.DOUBLE, allowNull: false, defaultValue: 0 },
        screenSharedTime: { type: DataTypes.DOUBLE, allowNull: false, defaultValue: 0 },
        lastSeenAt: { type: DataTypes.DATE, allowNull: false },
        leaveReason: { type: DataTypes.ENUM(...LEAVE_REASONS), allowNull: true },
        audio: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
        video: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
        screen: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        audioChangedAt: { type: DataTypes.DATE, allowNull: false },
        videoChangedAt: { type: DataTypes.DATE, allowNull: false },
        screenChangedAt: { type: DataTypes.DATE, allowNull: false },
        handRaisedAt: { type: DataTypes.DATE, allowNull: true },
        handRaises: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        speaking: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        speakingChangedAt: { type: DataTypes.DATE, allowNull: true },
        speakingTime: { type: DataTypes.DOUBLE, allowNull: false, defaultValue: 0 },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: "video_call_participants" },
    );
  }
}
