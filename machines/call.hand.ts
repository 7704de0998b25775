/**
 * The raised-hand region of the call machine (a parallel region of `inCall`): raising and lowering
 * go to the server through the `setHand` actor (its clock stamps the queue order), and talking for
 * a while with the hand up asks "Lower your hand?", lowering it unless the user keeps it.
 */
import { callActionsSetup } from "./call.actions";

const sessionOf = ({ context }: { context: { join: { sessionId: string } | null } }) => context.join?.sessionId ?? "";

export const handRegion = callActionsSetup.createStateConfig({
  initial: "down",
  states: {
    down: {
      initial: "idle",
      entry: "clearHand",
      on: { TOGGLE_HAND: "raised" },
      states: {
        idle: {},
        lowering: {
          invoke: {
            src: "setHand",
            input: (args) => ({ sessionId: sessionOf(args), raised: false }),
            onDone: "idle",
            onError: "idle",
          },
        },
      },
    },
    raised: {
      initial: "quiet",
      invoke: {
        src: "setHand",
        input: (args) => ({ sessionId: sessionOf(args), raised: true }),
        onDone: { actions: "storeHand" },
        // The server never heard it: the hand is not up for anyone else either.
        onError: "down",
      },
      on: { TOGGLE_HAND: "down.lowering" },
      states: {
        quiet: { on: { "SELF.SPEAKING": { guard: "speaking", target: "talking" } } },
        talking: {
          after: { handTalkPrompt: "asking" },
          on: { "SELF.SPEAKING": { guard: "notSpeaking", target: "quiet" } },
        },
        /** The "Lower your hand?" prompt is showing. */
        asking: {
          after: { handPromptTimeout: "#call.inCall.hand.down.lowering" },
          on: { KEEP_HAND: "kept" },
        },
        /** The user chose to keep it: no more asking until the hand goes down. */
        kept: {},
      },
    },
  },
});
