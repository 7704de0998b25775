import type { MigrationFn } from "../migrator.js";

/**
 * Chat in the call: messages, one read cursor per person per call, and shared files.
 *
 * `seq` orders messages (ids are random uuids); a read cursor stores the seq of the message it
 * sits on so "only forward" is one comparison inside the upsert, safe under concurrent updates.
 */
export const up: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `CREATE TABLE call_files (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "sessionId" uuid NOT NULL REFERENCES video_call_sessions(id) ON DELETE CASCADE,
      "uploaderId" uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      name varchar(255) NOT NULL,
      size bigint NOT NULL CHECK (size >= 0),
      type varchar(128) NOT NULL,
      sha256 char(64) NOT NULL,
      "storageKey" varchar(200) NOT NULL,
      "createdAt" timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT call_files_name_check CHECK (octet_length(name) BETWEEN 1 AND 255)
    )`,
    { transaction },
  );
  await query(`CREATE INDEX call_files_session ON call_files ("sessionId")`, { transaction });
  await query(`CREATE TYPE call_message_kind AS ENUM ('text','file')`, { transaction });
  await query(
    `CREATE TABLE call_messages (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
      "sessionId" uuid NOT NULL REFERENCES video_call_sessions(id) ON DELETE CASCADE,
      "authorId" uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      body varchar(2000) NOT NULL,
      kind call_message_kind NOT NULL DEFAULT 'text',
      "fileId" uuid REFERENCES call_files(id) ON DELETE SET NULL,
      "clientId" varchar(64) NOT NULL,
      "createdAt" timestamptz NOT NULL,
      CONSTRAINT call_messages_body_check CHECK (char_length(body) BETWEEN 1 AND 2000),
      CONSTRAINT call_messages_client_id UNIQUE ("authorId", "clientId")
    )`,
    { transaction },
  );
  await query(`CREATE INDEX call_messages_session_seq ON call_messages ("sessionId", seq DESC)`, { transaction });
  await query(
    `CREATE TABLE call_chat_reads (
      "sessionId" uuid NOT NULL REFERENCES video_call_sessions(id) ON DELETE CASCADE,
      "userId" uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      "lastReadMessageId" uuid NOT NULL REFERENCES call_messages(id) ON DELETE CASCADE,
      "lastReadSeq" bigint NOT NULL,
      "readAt" timestamptz NOT NULL,
      PRIMARY KEY ("sessionId", "userId")
    )`,
    { transaction },
  );
};

export const down: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `DROP TABLE call_chat_reads; DROP TABLE call_messages; DROP TYPE call_message_kind; DROP TABLE call_files`,
    { transaction },
  );
};
