import {
  DataTypes,
  Model,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type Sequelize,
} from "sequelize";

export class User extends Model<InferAttributes<User>, InferCreationAttributes<User>> {
  declare id: CreationOptional<string>;
  declare email: string;
  declare name: string;
  declare avatarUrl: string | null;
  declare passwordHash: string;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    User.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        // Stored lower-cased; a unique index on lower(email) backs the case-insensitive rule.
        email: {
          type: DataTypes.STRING(254),
          allowNull: false,
          set(v: string) {
            this.setDataValue("email", v.trim().toLowerCase());
          },
        },
        name: { type: DataTypes.STRING(80), allowNull: false },
        avatarUrl: { type: DataTypes.STRING(500), allowNull: true },
        passwordHash: { type: DataTypes.STRING(255), allowNull: false },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: "users" },
    );
  }
}
