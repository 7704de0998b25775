/**
 * Tells the user when "Share screen" got no screen: Firefox in some setups (no display, or a
 * platform without capture) and browsers without getDisplayMedia fail where Chromium would show
 * its picker. A cancelled picker ("denied") is the user's own choice and says nothing.
 */
import { useEffect } from "react";
import { toast } from "sonner";
import type { ActorRefFrom } from "xstate";
import type { CallMachine } from "../../../machines/call.machine";
import { say } from "./messages";

export function useShareFailureToast(actor: ActorRefFrom<CallMachine>) {
  useEffect(() => {
    let starting = actor.getSnapshot().matches({ inCall: { screen: "starting" } });
    const sub = actor.subscribe((s) => {
      const wasStarting = starting;
      starting = s.matches({ inCall: { screen: "starting" } });
      const failed = wasStarting && s.matches({ inCall: { screen: "off" } }) && s.context.mediaError;
      if (failed && s.context.mediaError?.reason !== "denied") toast.error(say("shareFailed"), { id: "share-failed" });
    });
    return () => sub.unsubscribe();
  }, [actor]);
}
