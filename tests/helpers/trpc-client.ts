/**
 * A tRPC client against a running server that sends one user's session cookie on every call,
 * queries and mutations over HTTP and subscriptions over real SSE, the way a browser would.
 */
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { EventSource } from "eventsource";
import type { AppRouter } from "../../server/trpc/routers/_app.js";

export function trpcClient(baseUrl: string, cookie?: string) {
  const headers = cookie ? { cookie } : undefined;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url: `${baseUrl}/api/trpc`,
          EventSource,
          eventSourceOptions: {
            fetch: (input, init) =>
              fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }),
          },
        }),
        false: httpBatchLink({ url: `${baseUrl}/api/trpc`, headers }),
      }),
    ],
  });
}
