// The namespace's deployments with their phase, kept live by the deploymentUpdated subscription.
import { useState } from "react";
import { useQuery, useSubscription } from "urql";
import { Phase } from "./Details";
import { Alert, describe } from "./errors";
import { LIST, UPDATED } from "./queries";
import { money, type Deployment } from "./types";

export function List({ ns }: { ns: string }) {
  const [q] = useQuery<{ deployments: Deployment[] }>({ query: LIST, variables: { ns } });
  const [live, setLive] = useState<Record<string, Deployment | null>>({});
  useSubscription<{ deploymentUpdated: { type: string; deployment: Deployment } }>(
    { query: UPDATED, variables: { ns } },
    (_prev, e) => {
      const { type, deployment } = e.deploymentUpdated;
      setLive((m) => ({ ...m, [deployment.name]: type === "DELETED" ? null : deployment }));
      return e;
    },
  );
  const error = describe(q.error);
  const byName = new Map<string, Deployment>();
  for (const d of q.data?.deployments ?? []) byName.set(d.name, d);
  for (const [name, d] of Object.entries(live)) {
    if (d) byName.set(name, d);
    else byName.delete(name);
  }
  const rows = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section aria-labelledby="list-title">
      <div className="row between">
        <h2 id="list-title">Deployments in {ns}</h2>
        <a className="button" href="#/new">
          New deployment
        </a>
      </div>
      {error && <Alert errors={error} />}
      {!error && rows.length === 0 && <p>{q.fetching ? "Loading…" : "No deployments yet."}</p>}
      {rows.length > 0 && (
        <div className="scroll">
          <table>
            <caption className="sr-only">Deployments, with their live phase</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Phase</th>
                <th scope="col">Strategy</th>
                <th scope="col">Monthly</th>
              </tr>
            </thead>
            <tbody aria-live="polite">
              {rows.map((d) => (
                <tr key={d.name} data-testid={`row-${d.name}`}>
                  <td>
                    <a href={`#/d/${encodeURIComponent(d.name)}`}>{d.name}</a>
                  </td>
                  <td>
                    <Phase phase={d.phase} />
                  </td>
                  <td>{d.strategy ?? "–"}</td>
                  <td className="num">{money(d.cost.estimatedMonthly, d.cost.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
