// The create form: each field checked against the XRD's schema (specSchema) as you type and
// before sending; the API's own answer (errors { field message }) lands on the same fields.
import { useMemo, useState } from "react";
import { useClient, useMutation, useQuery } from "urql";
import { CostChart } from "./CostChart";
import { Alert } from "./errors";
import { CREATE, ESTIMATE, SPEC_SCHEMA } from "./queries";
import { money, type Estimate, type FieldError } from "./types";
import { nameError, validate, type Errors, type Schema } from "./validate";

interface Form {
  name: string;
  url: string;
  ref: string;
  prompt: string;
  region: string;
  strategy: string;
  budget: string;
  enforcement: string;
  policies: string[];
  image: string;
  cloudProviderRef: string;
}

const EMPTY: Form = {
  name: "",
  url: "",
  ref: "main",
  prompt: "",
  region: "",
  strategy: "auto",
  budget: "",
  enforcement: "soft",
  policies: [],
  image: "",
  cloudProviderRef: "",
};

function toSpec(f: Form): Record<string, unknown> {
  const spec: Record<string, unknown> = { repository: { url: f.url.trim(), ...(f.ref.trim() ? { ref: f.ref.trim() } : {}) } };
  if (f.prompt.trim()) spec.prompt = f.prompt.trim();
  if (f.region.trim()) spec.region = f.region.trim();
  if (f.strategy) spec.strategy = f.strategy;
  if (f.budget.trim()) spec.budget = { maxMonthlyCost: Number(f.budget), enforcementMode: f.enforcement };
  if (f.policies.length) spec.policies = f.policies;
  if (f.image.trim()) spec.image = f.image.trim();
  if (f.cloudProviderRef.trim()) spec.cloudProviderRef = { name: f.cloudProviderRef.trim() };
  return spec;
}

// The GraphQL input (DeploymentSpecInput) for a spec.
function toInput(spec: Record<string, unknown>): Record<string, unknown> {
  const { cloudProviderRef, ...rest } = spec as { cloudProviderRef?: { name: string } };
  return cloudProviderRef ? { ...rest, cloudProviderRefName: cloudProviderRef.name } : rest;
}

function fieldOf(path: string | null): string {
  if (!path) return "";
  if (path === "spec.cloudProviderRefName") return "spec.cloudProviderRef.name";
  return path;
}

export function CreateForm({ ns }: { ns: string }) {
  const [schemaQ] = useQuery<{ specSchema: Schema }>({ query: SPEC_SCHEMA });
  const schema = schemaQ.data?.specSchema;
  const [f, setF] = useState<Form>(EMPTY);
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [server, setServer] = useState<FieldError[]>([]);
  const [estimate, setEstimate] = useState<Estimate | null>(null);
  const [estimating, setEstimating] = useState(false);
  const [submitted, setSubmitted] = useState(false);
  const [created, setCreated] = useState<string | null>(null);
  const [createState, create] = useMutation(CREATE);
  const client = useClient();

  const local: Errors = useMemo(() => {
    const errs: Errors = {};
    const n = nameError(f.name);
    if (n) errs.name = n;
    if (f.budget.trim() && Number.isNaN(Number(f.budget))) errs["spec.budget.maxMonthlyCost"] = "must be a number";
    if (schema) validate(toSpec(f), schema, "spec", errs);
    return errs;
  }, [f, schema]);

  const serverErrors: Errors = {};
  const general: FieldError[] = [];
  for (const e of server) {
    const key = fieldOf(e.field);
    if (key && ids[key]) serverErrors[key] = e.message;
    else general.push(e);
  }
  const shown = (key: string) => (touched[key] || submitted ? local[key] : undefined) ?? serverErrors[key];

  const set = (key: keyof Form, path: string) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => {
    setF({ ...f, [key]: e.target.value });
    setTouched({ ...touched, [path]: true });
    setServer(server.filter((s) => fieldOf(s.field) !== path));
  };

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    if (Object.keys(local).length) {
      const first = Object.keys(local).find((k) => ids[k]);
      if (first) document.getElementById(ids[first])?.focus();
      return;
    }
    const r = await create({ ns, name: f.name, spec: toInput(toSpec(f)) });
    const errs: FieldError[] = r.data?.createDeployment?.errors ?? [];
    if (r.error) setServer([{ field: null, message: r.error.message, code: "FAILED" }]);
    else if (errs.length) setServer(errs);
    else {
      setCreated(f.name);
      location.hash = `#/d/${encodeURIComponent(f.name)}`;
    }
  }

  async function runEstimate() {
    setSubmitted(true);
    const specErrors = Object.keys(local).filter((k) => k !== "name");
    if (specErrors.length) return;
    setEstimating(true);
    const r = await client.query(ESTIMATE, { ns, spec: toInput(toSpec(f)) }, { requestPolicy: "network-only" }).toPromise();
    setEstimating(false);
    const errs: FieldError[] = r.data?.costEstimate?.errors ?? [];
    if (r.error) setServer([{ field: null, message: r.error.message, code: "FAILED" }]);
    else if (errs.length) setServer(errs);
    else setEstimate(r.data.costEstimate.estimate);
  }

  const props = (path: string) => {
    const err = shown(path);
    return {
      id: ids[path],
      "aria-invalid": err ? true : undefined,
      "aria-describedby": err ? `${ids[path]}-error` : `${ids[path]}-help`,
      onBlur: () => setTouched({ ...touched, [path]: true }),
    };
  };
  const help = (path: string, text: string) => {
    const err = shown(path);
    return err ? (
      <p id={`${ids[path]}-error`} className="field-error">
        {err}
      </p>
    ) : (
      <p id={`${ids[path]}-help`} className="help">
        {text}
      </p>
    );
  };
  const enums = (path: string[]): string[] => {
    let s: Schema | undefined = schema;
    for (const p of path) s = s?.properties?.[p];
    return (s?.enum as string[] | undefined) ?? [];
  };
  const policyOptions = (schema?.properties?.policies?.items?.enum as string[] | undefined) ?? [];

  return (
    <form className="create" onSubmit={submit} noValidate aria-labelledby="create-title">
      <h2 id="create-title">New deployment in {ns}</h2>
      {schemaQ.error && <Alert errors={`The form's schema could not be loaded: ${schemaQ.error.message}`} />}
      <div className="field">
        <label htmlFor={ids.name}>Name</label>
        <input {...props("name")} value={f.name} onChange={set("name", "name")} autoComplete="off" required />
        {help("name", "Lower-case letters, digits and '-'.")}
      </div>
      <div className="field">
        <label htmlFor={ids["spec.repository.url"]}>Repository URL</label>
        <input {...props("spec.repository.url")} value={f.url} onChange={set("url", "spec.repository.url")} placeholder="https://github.com/acme/flask-app" required />
        {help("spec.repository.url", "https://, ssh://, git:// or git@host:path.")}
      </div>
      <div className="field">
        <label htmlFor={ids["spec.repository.ref"]}>Branch, tag or commit</label>
        <input {...props("spec.repository.ref")} value={f.ref} onChange={set("ref", "spec.repository.ref")} />
        {help("spec.repository.ref", "Default main.")}
      </div>
      <div className="field">
        <label htmlFor={ids["spec.prompt"]}>What you want, in words</label>
        <textarea {...props("spec.prompt")} value={f.prompt} onChange={set("prompt", "spec.prompt")} rows={3} placeholder="highly available, under $500/month" />
        {help("spec.prompt", "Read as data by the function, never as instructions.")}
      </div>
      <div className="grid">
        <div className="field">
          <label htmlFor={ids["spec.region"]}>Region</label>
          <input {...props("spec.region")} value={f.region} onChange={set("region", "spec.region")} placeholder="us-east-1" />
          {help("spec.region", "Empty: the CloudProvider's default, else us-east-1.")}
        </div>
        <div className="field">
          <label htmlFor={ids["spec.strategy"]}>Strategy</label>
          <select {...props("spec.strategy")} value={f.strategy} onChange={set("strategy", "spec.strategy")}>
            {(enums(["strategy"]).length ? enums(["strategy"]) : ["auto"]).map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
          {help("spec.strategy", "auto lets the function decide.")}
        </div>
        <div className="field">
          <label htmlFor={ids["spec.budget.maxMonthlyCost"]}>Budget (USD per month)</label>
          <input {...props("spec.budget.maxMonthlyCost")} inputMode="decimal" value={f.budget} onChange={set("budget", "spec.budget.maxMonthlyCost")} />
          {help("spec.budget.maxMonthlyCost", "Optional; at least 10.")}
        </div>
        <div className="field">
          <label htmlFor={ids["spec.budget.enforcementMode"]}>Budget enforcement</label>
          <select {...props("spec.budget.enforcementMode")} value={f.enforcement} onChange={set("enforcement", "spec.budget.enforcementMode")}>
            {(enums(["budget", "enforcementMode"]).length ? enums(["budget", "enforcementMode"]) : ["soft", "hard"]).map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
          {help("spec.budget.enforcementMode", "hard: the cheapest fit within budget, or a refusal.")}
        </div>
      </div>
      <fieldset className="field">
        <legend>Policies</legend>
        {policyOptions.map((p) => (
          <label key={p} className="check">
            <input
              type="checkbox"
              checked={f.policies.includes(p)}
              onChange={(e) => setF({ ...f, policies: e.target.checked ? [...f.policies, p] : f.policies.filter((x) => x !== p) })}
            />
            {p}
          </label>
        ))}
      </fieldset>
      <div className="grid">
        <div className="field">
          <label htmlFor={ids["spec.image"]}>Container image (optional)</label>
          <input {...props("spec.image")} value={f.image} onChange={set("image", "spec.image")} />
          {help("spec.image", "Needed for serverless.")}
        </div>
        <div className="field">
          <label htmlFor={ids["spec.cloudProviderRef.name"]}>CloudProvider (optional)</label>
          <input {...props("spec.cloudProviderRef.name")} value={f.cloudProviderRef} onChange={set("cloudProviderRef", "spec.cloudProviderRef.name")} />
          {help("spec.cloudProviderRef.name", "A CloudProvider in this namespace.")}
        </div>
      </div>
      <Alert errors={general} />
      <div className="row">
        <button type="submit" disabled={createState.fetching}>
          Create deployment
        </button>
        <button type="button" className="secondary" onClick={runEstimate} disabled={estimating}>
          {estimating ? "Estimating…" : "Estimate cost"}
        </button>
        <a href="#/">Cancel</a>
      </div>
      {created && <p role="status">Created {created}.</p>}
      {estimate && (
        <section aria-labelledby="estimate-title" className="estimate" aria-live="polite">
          <h3 id="estimate-title">
            Estimate: {estimate.strategy}, {money(estimate.monthly, estimate.currency)}/month
          </h3>
          <p>{estimate.reason}</p>
          {estimate.warnings.map((w, i) => (
            <p key={i} className="muted">
              {w}
            </p>
          ))}
          <CostChart
            title="Estimated monthly cost by resource"
            bars={estimate.breakdown.map((b) => ({ label: b.resource, value: b.monthly ?? 0 }))}
          />
        </section>
      )}
    </form>
  );
}

// Element ids of the form's fields, by the field path the API names in its errors.
const ids: Record<string, string> = {
  name: "f-name",
  "spec.repository.url": "f-url",
  "spec.repository.ref": "f-ref",
  "spec.prompt": "f-prompt",
  "spec.region": "f-region",
  "spec.strategy": "f-strategy",
  "spec.budget.maxMonthlyCost": "f-budget",
  "spec.budget.enforcementMode": "f-enforcement",
  "spec.image": "f-image",
  "spec.cloudProviderRef.name": "f-cloudprovider",
};
