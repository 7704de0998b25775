// Hands the per-response CSP nonce from entry.server to <Scripts>/<ScrollRestoration> in root.
import { createContext, useContext } from "react";

const NonceContext = createContext<string>("");

export const NonceProvider = NonceContext.Provider;

/** The nonce on the server; "" in the browser, which hides nonces from script anyway. */
export function useNonce(): string {
  return useContext(NonceContext);
}
