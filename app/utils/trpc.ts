import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import type { AppRouter } from "../../server/trpc/routers/_app";

function makeClient() {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        // SSE: the browser's EventSource reconnects by itself and sends Last-Event-ID, so no event is lost.
        true: httpSubscriptionLink({ url: "/api/trpc" }),
        false: httpBatchLink({ url: "/api/trpc" }),
      }),
    ],
  });
}

let client: ReturnType<typeof makeClient> | null = null;

/** The browser's tRPC client (same-origin; the session cookie rides along). */
export function trpc() {
  client ??= makeClient();
  return client;
}
