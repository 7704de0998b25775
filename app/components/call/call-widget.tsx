import { Link } from "@remix-run/react";
import { callFullText, describePresence, isCallFull } from "../../../machines/room-presence";
import type { RoomSession } from "../../../machines/room-protocol";
import { useRoomPresence } from "./use-room-presence";

/** The study page's live call summary: "2 in call: Alice, Bob" and a way in. */
export function CallWidget(props: {
  studyId: string;
  initial: RoomSession | null;
  maxParticipants: number;
  meId: string;
}) {
  const { studyId, initial, maxParticipants, meId } = props;
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
      <Link className="button" to={`/studies/${studyId}/call`}>
        {running ? "Join call" : "Start call"}
      </Link>
    </section>
  );
}
