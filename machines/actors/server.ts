/**
 * The call machine's server actors over a CallApi (tRPC in the app, fakes in tests): joining,
 * leaving, publishing media flags, link reports, host actions, the heartbeat and the room feed;
 * a refusal becomes a typed error here (errors.ts). No PeerJS here, so these run (and are tested)
 * in Node.
 */
import { fromCallback, fromPromise, type EventObject } from "xstate";
import type { CallApi } from "../call-api";
import type {
  HostActionInput,
  JoinCallInput,
  JoinedCall,
  PublishMediaInput,
  SetHandInput,
  ReportLinkInput,
  ReportViewsInput,
  RoomFeedEvent,
  SessionRef,
} from "../call.contracts";
import type { HeartbeatCommand, HeartbeatEvent } from "../call.setup";
import { HostActionError, type HostActionErrorReason, JoinError, type JoinErrorReason } from "../errors";
import { nextRetryDelay } from "../reconnect-policy";
import { mark } from "./marks";

/** The tRPC error data of a failed API call, if it has any. */
function errorData(error: unknown): { code?: unknown; reason?: unknown } {
  if (typeof error !== "object" || error === null || !("data" in error)) return {};
  return (error as { data?: { code?: unknown; reason?: unknown } }).data ?? {};
}
const errorCode = (error: unknown): unknown => errorData(error).code;

/**
 * A ban, a lock and a full call carry their refusal (`data.reason`, room-protocol's JoinRefusal) beside
 * the code: a ban and a lock are FORBIDDEN like a non-member's join, told apart only by it.
 */
function joinErrorReason(error: unknown): JoinErrorReason {
  if (error instanceof TypeError) return "network"; // fetch() network failure
  const { code, reason } = errorData(error);
  if (reason === "removed" || reason === "locked" || reason === "full") return reason;
  if (code === "FORBIDDEN" || code === "UNAUTHORIZED") return "forbidden";
  if (code === "NOT_FOUND") return "not-found";
  if (code === "CONFLICT") return "full";
  return "unknown";
}

/**
 * The server refuses a host action with FORBIDDEN (not a host, or an admin acting on the owner),
 * NOT_FOUND (that person is not in the call) or BAD_REQUEST (the call has ended; acting on
 * yourself, which the room never offers, is refused the same way).
 */
function hostActionErrorReason(error: unknown): HostActionErrorReason {
  if (error instanceof TypeError) return "network"; // fetch() network failure
  const code = errorCode(error);
  if (code === "FORBIDDEN" || code === "UNAUTHORIZED") return "not-allowed";
  if (code === "NOT_FOUND") return "not-in-call";
  if (code === "BAD_REQUEST") return "ended";
  return "unknown";
}

export function createServerActors(api: CallApi, heartbeatIntervalMs: number) {
  return {
    joinCall: fromPromise<JoinedCall, JoinCallInput>(async ({ input }) => {
      mark("join-request");
      try {
        const grant = input.grant ?? undefined;
        if (input.sessionId) {
          try {
            const joined = await api.join({ studyId: input.studyId, sessionId: input.sessionId, grant });
            mark("join-response");
            return joined;
          } catch (error) {
            // The call we knew of ended in the meantime: start (or join) the current one.
            if (errorCode(error) !== "BAD_REQUEST") throw error;
          }
        }
        const joined = await api.joinOrStart(input.studyId, grant);
        mark("join-response");
        return joined;
      } catch (error) {
        if (error instanceof JoinError) throw error;
        throw new JoinError(joinErrorReason(error), error instanceof Error ? error.message : undefined);
      }
    }),
    publishMedia: fromPromise<void, PublishMediaInput>(({ input }) => api.setMedia(input)),
    setHand: fromPromise<{ handRaisedAt: string | null }, SetHandInput>(({ input }) => api.setHand(input)),
    reportLink: fromPromise<void, ReportLinkInput>(({ input }) => api.reportLink(input)),
    hostAction: fromPromise<void, HostActionInput>(async ({ input }) => {
      try {
        await api.hostAction(input);
      } catch (error) {
        throw new HostActionError(hostActionErrorReason(error), errorMessage(error));
      }
    }),
    reportViews: fromPromise<void, ReportViewsInput>(({ input }) => api.setViews(input)),
    leaveCall: fromPromise<void, SessionRef>(({ input }) => api.leave(input)),
    /**
     * Beats every `heartbeatIntervalMs`. A failed beat is tried again on the retry schedule
     * (1 s, 3 s, 7 s); when those fail too the machine hears HEARTBEAT.FAILED (the server will
     * drop us if this goes on), and HEARTBEAT.OK once a beat gets through again. BEAT_NOW (the
     * user's "Try again") beats at once.
     */
    heartbeat: fromCallback<EventObject, SessionRef>(({ input, sendBack, receive }) => {
      const send = (e: HeartbeatEvent) => sendBack(e);
      let stopped = false;
      let failing = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const schedule = (ms: number, attempt: number) => {
        timer = setTimeout(() => beat(attempt), ms);
      };
      const beat = (attempt: number) => {
        api.heartbeat({ sessionId: input.sessionId }).then(
          () => {
            if (stopped) return;
            if (failing) send({ type: "HEARTBEAT.OK" });
            failing = false;
            schedule(heartbeatIntervalMs, 0);
          },
          (error: unknown) => {
            if (stopped) return;
            const retryIn = nextRetryDelay(attempt + 1, 0);
            if (retryIn !== null) return schedule(retryIn, attempt + 1);
            if (!failing) send({ type: "HEARTBEAT.FAILED", reason: errorMessage(error) });
            failing = true;
            schedule(heartbeatIntervalMs, 0);
          },
        );
      };
      schedule(heartbeatIntervalMs, 0);
      // The user pressed "Try again": beat now rather than at the next tick.
      receive((command) => {
        if (command.type !== ("BEAT_NOW" satisfies HeartbeatCommand["type"])) return;
        clearTimeout(timer);
        beat(0);
      });
      return () => {
        stopped = true;
        clearTimeout(timer);
      };
    }),
    roomEvents: fromCallback<EventObject, SessionRef>(({ input, sendBack }) => {
      const send = (e: RoomFeedEvent) => sendBack(e);
      return api.subscribe(
        input.studyId,
        (event) => send({ type: "ROOM.EVENT", event }),
        (session) => {
          if (session && session.id === input.sessionId) {
            send({
              type: "ROOM.SNAPSHOT",
              participants: session.participants,
              ...(session.permissions ? { permissions: session.permissions } : {}),
            });
          } else {
            // Our session ended while the subscription was down.
            send({
              type: "ROOM.EVENT",
              event: { type: "session-ended", sessionId: input.sessionId, endedAt: new Date().toISOString() },
            });
          }
        },
        // Refused (e.g. no longer a member) or broken for good: the machine subscribes again on
        // the retry schedule, then tells the user.
        (error) => send({ type: "ROOM.FEED_FAILED", reason: errorMessage(error) }),
      );
    }),
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
