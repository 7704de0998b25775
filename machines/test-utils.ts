/**
 * Fakes shared by the machine tests. Not imported by production code; kept out of *.test.ts so
 * both test files can use it.
 */
import { fromCallback, fromPromise } from "xstate";
import { toCallHandle, toSignalingHandle, type CallHandle, type SignalingHandle } from "./handles";
import type { AnswerCallInput, MediaCallCommand, MediaCallEvent, OutgoingCallInput } from "./peer.machine";
import type { RoomParticipant } from "./room-protocol";

export interface FakeCall {
  kind: "outgoing" | "answer";
  input: OutgoingCallInput | AnswerCallInput;
  remotePeerId: string;
  received: MediaCallCommand[];
  stopped: boolean;
  report: (event: MediaCallEvent) => void;
}

/** Media-call actors that record what the machine asked of them and let the test drive them. */
export function fakeMediaCalls() {
  const calls: FakeCall[] = [];
  const make = <TInput extends OutgoingCallInput | AnswerCallInput>(kind: FakeCall["kind"]) =>
    fromCallback<MediaCallCommand, TInput>(({ input, sendBack, receive }) => {
      const call: FakeCall = {
        kind,
        input,
        remotePeerId: input.remotePeerId,
        received: [],
        stopped: false,
        report: (event) => {
          if (!call.stopped) sendBack(event);
        },
      };
      calls.push(call);
      receive((command) => call.received.push(command));
      return () => {
        call.stopped = true;
      };
    });
  let expecting = 0;
  return {
    calls,
    /** How many peers are waiting for an announced caller's offer (the `expectCall` actor runs). */
    expecting: () => expecting,
    live: () => calls.filter((c) => !c.stopped),
    last: (): FakeCall => {
      const c = calls[calls.length - 1];
      if (!c) throw new Error("no call started");
      return c;
    },
    actors: {
      outgoingCall: make<OutgoingCallInput>("outgoing"),
      answerCall: make<AnswerCallInput>("answer"),
      expectCall: fromCallback(() => {
        expecting++;
        return () => {
          expecting--;
        };
      }),
    },
  };
}

let handleSeq = 0;
export function fakeCallHandle(label = "call"): CallHandle {
  handleSeq += 1;
  return toCallHandle({ label, seq: handleSeq });
}

export function fakeSignalingHandle(): SignalingHandle {
  return toSignalingHandle({ fake: "peer" });
}

/** Stand-ins for DOM media objects: the machines only pass them around. */
export function fakeStream(id: string): MediaStream {
  return { id } as unknown as MediaStream;
}

export function fakeTrack(label: string): MediaStreamTrack {
  return { label, kind: label.startsWith("audio") ? "audio" : "video" } as unknown as MediaStreamTrack;
}

export function participant(peerId: string, joinedAt: string, extra: Partial<RoomParticipant> = {}): RoomParticipant {
  return {
    userId: `user-${peerId}`,
    name: `Name ${peerId}`,
    avatarUrl: null,
    peerId,
    joinedAt,
    audio: true,
    video: true,
    screen: false,
    ...extra,
  };
}

/** A promise actor whose calls the test can inspect and settle. */
export function controllablePromise<TInput, TOutput>() {
  const pending: {
    input: TInput;
    resolve: (v: TOutput) => void;
    reject: (e: unknown) => void;
  }[] = [];
  const logic = fromPromise<TOutput, TInput>(
    ({ input }) =>
      new Promise<TOutput>((resolve, reject) => {
        pending.push({ input, resolve, reject });
      }),
  );
  return { logic, pending };
}
