import { Link } from "@remix-run/react";
import {
  CALL_LOCKED_TEXT,
  callFullText,
  describePresence,
  isCallFull,
  isCallLocked,
} from "../../../machines/room-presence";
import type { RoomSession } from "../../../machines/room-protocol";
import { useRoomPresence } from "./use-room-presence";

/** The study page's live call summary: "2 in call: Alice, Bob" and a way in. */
export function CallWidget(props: {
  studyId: string;
  initial: RoomSession | null;
  maxParticipants: number;
  meId: string;
  /** A study OWNER or ADMIN: a locked call still lets them in. */
  isHost: boolean;
}) {
  const { studyId, initial, maxParticipants, meId, isHost } = props;
  const { session } = useRoomPresence(studyId, initial);
  const running = !!session && session.participants.length > 0;
  const full = isCallFull(session, maxParticipants, meId);
  return (
    <section className="card call-widget" aria-label="Video call">
      <h2>Video call</h2>
      <p role="status" aria-live="polite" data-testid="call-presence">
        {describePresence(session)}
      </p>
      {full ? (
        <p className="call-full" data-testid="call-full">
          {callFullText(maxParticipants)}
        </p>
      ) : null}
      {!full && running && isCallLocked(session, isHost) ? (
        <p className="call-full" data-testid="call-locked">
          {CALL_LOCKED_TEXT}
        </p>
      ) : null}
      <Link className="button" to={`/studies/${studyId}/call`}>
        {running ? "Join call" : "Start call"}
      </Link>
    </section>
  );
}
