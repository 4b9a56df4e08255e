// One deployment: live phase, the decision and why, alternatives, cost, endpoints, history
// with rollback, similar past deployments from the memory, and the feedback widget.
import { useEffect, useState } from "react";
import { useMutation, useQuery, useSubscription } from "urql";
import { CostChart } from "./CostChart";
import { Alert, describe } from "./errors";
import { FeedbackWidget } from "./Feedback";
import { GET, REDECIDE, ROLLBACK, SIMILAR, UPDATED } from "./queries";
import { money, type Deployment, type FieldError, type PastDeployment } from "./types";

export function Phase({ phase }: { phase: string | null }) {
  const p = phase ?? "Pending";
  return <span className={`phase phase-${p.toLowerCase()}`}>{p}</span>;
}

export function Details({ ns, name }: { ns: string; name: string }) {
  const [q] = useQuery<{ deployment: Deployment | null }>({ query: GET, variables: { ns, name } });
  const [live, setLive] = useState<Deployment | null>(null);
  useSubscription<{ deploymentUpdated: { type: string; deployment: Deployment } }>(
    { query: UPDATED, variables: { ns, name } },
    (_prev, event) => {
      setLive(event.deploymentUpdated.deployment);
      return event;
    },
  );
  useEffect(() => setLive(null), [ns, name]);
  const d = live ?? q.data?.deployment ?? null;
  const error = describe(q.error);

  if (error) return <Alert errors={error} />;
  if (!d) return <p>{q.fetching ? "Loading…" : `No deployment ${ns}/${name}.`}</p>;

  const chosen = d.cost.estimatedMonthly;
  const strategyBars = [
    ...(d.strategy && chosen !== null ? [{ label: `${d.strategy} (chosen)`, value: chosen, highlight: true }] : []),
    ...d.alternatives
      .filter((a) => a.estimatedMonthlyCost !== null)
      .map((a) => ({ label: a.strategy, value: a.estimatedMonthlyCost as number })),
  ];

  return (
    <article className="details" aria-labelledby="details-title">
      <p>
        <a href="#/">← All deployments</a>
      </p>
      <h2 id="details-title">
        {d.name} <Phase phase={d.phase} />
      </h2>
      <p aria-live="polite" className="message" data-testid="phase-line">
        Phase: <strong data-testid="phase">{d.phase ?? "Pending"}</strong>
        {d.message ? ` — ${d.message}` : ""}
      </p>

      <section aria-labelledby="decision-title">
        <h3 id="decision-title">Decision</h3>
        {d.strategy ? (
          <dl className="facts">
            <dt>Strategy</dt>
            <dd data-testid="strategy">{d.strategy}</dd>
            <dt>Why</dt>
            <dd>{d.reason}</dd>
            <dt>Confidence</dt>
            <dd>{d.confidence !== null ? `${Math.round(d.confidence * 100)}%` : "–"}</dd>
            <dt>Decided by</dt>
            <dd>
              {d.decision?.decidedBy ?? "–"}
              {d.decision?.rollbackOf ? ` (rollback to revision ${d.decision.rollbackOf})` : ""}
              {d.decision?.revision ? `, revision ${d.decision.revision}` : ""}
            </dd>
            <dt>Monthly cost</dt>
            <dd>{money(chosen, d.cost.currency)}</dd>
          </dl>
        ) : (
          <p>Not decided yet.</p>
        )}
        <Redecide d={d} />
      </section>

      {d.alternatives.length > 0 && (
        <section aria-labelledby="alt-title">
          <h3 id="alt-title">Alternatives</h3>
          <ul>
            {d.alternatives.map((a) => (
              <li key={a.strategy}>
                <strong>{a.strategy}</strong> ({money(a.estimatedMonthlyCost)}): {a.reason}
              </li>
            ))}
          </ul>
          <CostChart title="Monthly cost by strategy" bars={strategyBars} />
        </section>
      )}

      {d.cost.breakdown.length > 0 && (
        <section aria-labelledby="cost-title">
          <h3 id="cost-title">Cost breakdown</h3>
          <CostChart
            title="Monthly cost by resource"
            currency={d.cost.currency}
            bars={d.cost.breakdown.map((b) => ({ label: b.resource, value: b.monthly ?? 0 }))}
          />
          <div className="scroll">
            <table>
              <caption className="sr-only">Cost breakdown</caption>
              <thead>
                <tr>
                  <th scope="col">Resource</th>
                  <th scope="col">What</th>
                  <th scope="col">Monthly</th>
                </tr>
              </thead>
              <tbody>
                {d.cost.breakdown.map((b, i) => (
                  <tr key={i}>
                    <td>{b.resource}</td>
                    <td>{b.description}</td>
                    <td className="num">{money(b.monthly, d.cost.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}

      <section aria-labelledby="ep-title">
        <h3 id="ep-title">Endpoints</h3>
        {d.endpoints.length ? (
          <ul>
            {d.endpoints.map((e, i) => (
              <li key={i}>
                {e.name} ({e.type}): <code>{e.url}</code>
              </li>
            ))}
          </ul>
        ) : (
          <p>None yet.</p>
        )}
      </section>

      <History d={d} />
      <Similar ns={ns} name={name} used={d.similarUsed} />
      <FeedbackWidget key={d.name} d={d} />
    </article>
  );
}

function Redecide({ d }: { d: Deployment }) {
  const [errors, setErrors] = useState<FieldError[] | string | null>(null);
  const [done, setDone] = useState(false);
  const [, send] = useMutation(REDECIDE);
  return (
    <div>
      <button
        type="button"
        className="secondary"
        onClick={async () => {
          const r = await send({ ns: d.namespace, name: d.name });
          const errs = r.data?.redecideDeployment?.errors ?? [];
          setErrors(r.error ? r.error.message : errs.length ? errs : null);
          setDone(!r.error && errs.length === 0);
        }}
      >
        Decide again
      </button>
      <Alert errors={errors} />
      {done && <p role="status">Asked the function to decide again.</p>}
    </div>
  );
}

function History({ d }: { d: Deployment }) {
  const [errors, setErrors] = useState<FieldError[] | string | null>(null);
  const [requested, setRequested] = useState<number | null>(null);
  const [, send] = useMutation(ROLLBACK);
  async function rollback(revision: number) {
    const r = await send({ ns: d.namespace, name: d.name, revision });
    const errs = r.data?.rollbackDeployment?.errors ?? [];
    setErrors(r.error ? r.error.message : errs.length ? errs : null);
    setRequested(!r.error && errs.length === 0 ? revision : null);
  }
  return (
    <section aria-labelledby="history-title">
      <h3 id="history-title">History</h3>
      {d.history.length === 0 ? (
        <p>No revisions yet.</p>
      ) : (
        <div className="scroll">
          <table>
            <caption className="sr-only">Decision revisions, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Revision</th>
                <th scope="col">Strategy</th>
                <th scope="col">Decided by</th>
                <th scope="col">Monthly</th>
                <th scope="col">Outcome</th>
                <th scope="col">
                  <span className="sr-only">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {d.history.map((h) => (
                <tr key={h.revision ?? 0} aria-current={h.current ? "true" : undefined}>
                  <td>
                    {h.revision}
                    {h.current ? " (pinned)" : ""}
                  </td>
                  <td>{h.strategy}</td>
                  <td>
                    {h.decidedBy}
                    {h.rollbackOf ? ` (of ${h.rollbackOf})` : ""}
                  </td>
                  <td className="num">{money(h.cost)}</td>
                  <td>{h.outcome ?? "–"}</td>
                  <td>
                    {!h.current && h.revision !== null && (
                      <button type="button" className="secondary" onClick={() => rollback(h.revision as number)}>
                        Roll back to revision {h.revision}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {d.rollbackToRevision !== null && (
        <p data-testid="rollback-pinned">
          Rollback to revision {d.rollbackToRevision} is set (it holds until cleared).
        </p>
      )}
      <Alert errors={errors} />
      {requested !== null && (
        <p role="status" className="ok">
          Rollback to revision {requested} requested; the function re-pins it on its next reconcile.
        </p>
      )}
    </section>
  );
}

function Similar({ ns, name, used }: { ns: string; name: string; used: Deployment["similarUsed"] }) {
  const [q] = useQuery<{ similarDeployments: PastDeployment[] }>({ query: SIMILAR, variables: { ns, name } });
  const error = describe(q.error);
  return (
    <section aria-labelledby="similar-title">
      <h3 id="similar-title">Similar past deployments</h3>
      {used.length > 0 && (
        <p>
          The decision saw: {used.map((s) => `${s.deployment} (${s.strategy}, ${s.outcome})`).join("; ")}
        </p>
      )}
      {error ? (
        <p className="muted">{error}</p>
      ) : q.data?.similarDeployments.length ? (
        <ul data-testid="similar">
          {q.data.similarDeployments.map((p) => (
            <li key={`${p.namespace}/${p.deploymentName}/${p.revision}`}>
              <strong>{p.deploymentName}</strong> ({p.scope === "shared" ? "shared" : p.namespace}): {p.strategy},{" "}
              {p.outcome}, {money(p.monthlyCost)}/month, similarity {p.similarity.toFixed(2)}
              {p.feedback > 0 ? ", up-voted" : p.feedback < 0 ? ", down-voted" : ""}
            </li>
          ))}
        </ul>
      ) : (
        <p>{q.fetching ? "Searching the memory…" : "Nothing similar is stored."}</p>
      )}
    </section>
  );
}
