// The shell: sign-in with a Kubernetes token and a namespace, then hash routes:
// #/ (list), #/new (create form), #/d/NAME (details).
import { useEffect, useMemo, useState } from "react";
import { Provider, useQuery } from "urql";
import { loadSession, makeClient, saveSession, type Session } from "./client";
import { CreateForm } from "./CreateForm";
import { Details } from "./Details";
import { describe } from "./errors";
import { List } from "./List";
import { WHOAMI } from "./queries";

function useHash(): string {
  const [hash, setHash] = useState(location.hash || "#/");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/");
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function SignIn({ onSignIn }: { onSignIn: (s: Session) => void }) {
  const [token, setToken] = useState("");
  const [namespace, setNamespace] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="signin"
      aria-labelledby="signin-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (!token.trim() || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace.trim())) {
          setError("Give your token and a namespace name.");
          return;
        }
        onSignIn({ token: token.trim(), namespace: namespace.trim() });
      }}
    >
      <h2 id="signin-title">Sign in</h2>
      <p>
        scia acts with your own Kubernetes identity: paste a token (for example from{" "}
        <code>kubectl create token NAME -n NAMESPACE</code>). It stays in this browser tab.
      </p>
      <label htmlFor="token">Kubernetes token</label>
      <textarea id="token" rows={3} value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" spellCheck={false} />
      <label htmlFor="namespace">Namespace</label>
      <input id="namespace" value={namespace} onChange={(e) => setNamespace(e.target.value)} placeholder="team-a" />
      {error && (
        <p role="alert" className="field-error">
          {error}
        </p>
      )}
      <button type="submit">Sign in</button>
    </form>
  );
}

function Who({ onSignOut }: { onSignOut: () => void }) {
  const [q] = useQuery<{ whoami: { username: string } }>({ query: WHOAMI });
  const error = describe(q.error);
  return (
    <div className="who">
      <span data-testid="whoami">{q.data?.whoami.username ?? (error ? "not signed in" : "…")}</span>
      <button type="button" className="secondary" onClick={onSignOut}>
        Sign out
      </button>
    </div>
  );
}

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession());
  const client = useMemo(() => (session ? makeClient(session.token) : null), [session]);
  const hash = useHash();
  const detail = hash.match(/^#\/d\/(.+)$/);

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <h1>
          <a href="#/">scia</a> <span className="muted">application deployments</span>
        </h1>
        {client && session && (
          <Provider value={client}>
            <Who
              onSignOut={() => {
                saveSession(null);
                setSession(null);
              }}
            />
          </Provider>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {!client || !session ? (
          <SignIn
            onSignIn={(s) => {
              saveSession(s);
              setSession(s);
            }}
          />
        ) : (
          <Provider value={client}>
            {hash === "#/new" ? (
              <CreateForm ns={session.namespace} />
            ) : detail ? (
              <Details key={detail[1]} ns={session.namespace} name={decodeURIComponent(detail[1])} />
            ) : (
              <List ns={session.namespace} />
            )}
          </Provider>
        )}
      </main>
    </>
  );
}
