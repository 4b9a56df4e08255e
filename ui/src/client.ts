// The GraphQL client: HTTP for queries and mutations, graphql-transport-ws for subscriptions.
// The caller's Kubernetes token goes in every request; scia-api forwards it to the API server.
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "urql";
import { createClient as createWsClient } from "graphql-ws";

const TOKEN_KEY = "scia.token";
const NAMESPACE_KEY = "scia.namespace";

export interface Session {
  token: string;
  namespace: string;
}

export function loadSession(): Session | null {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const namespace = sessionStorage.getItem(NAMESPACE_KEY);
  return token && namespace ? { token, namespace } : null;
}

export function saveSession(s: Session | null): void {
  if (s) {
    sessionStorage.setItem(TOKEN_KEY, s.token);
    sessionStorage.setItem(NAMESPACE_KEY, s.namespace);
  } else {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(NAMESPACE_KEY);
  }
}

export function makeClient(token: string): Client {
  const ws = createWsClient({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 1000,
    shouldRetry: () => true,
  });
  return new Client({
    url: "/graphql",
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || "" };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
    requestPolicy: "cache-and-network",
  });
}
