import type { CombinedError } from "urql";
import type { FieldError } from "./types";

// A query's error as one sentence (the API's typed code and message).
export function describe(error: CombinedError | undefined): string | null {
  if (!error) return null;
  const g = error.graphQLErrors[0];
  if (g) {
    const code = (g.extensions?.code as string | undefined) ?? "ERROR";
    return code === "FORBIDDEN" ? `Refused: ${g.message}` : `${code}: ${g.message}`;
  }
  return error.networkError ? `scia-api is not reachable (${error.networkError.message})` : error.message;
}

// Errors a mutation answered with; those naming no field of the form.
export function Alert({ errors }: { errors: FieldError[] | string | null }) {
  if (!errors || (Array.isArray(errors) && errors.length === 0)) return null;
  const items = typeof errors === "string" ? [errors] : errors.map((e) => (e.code === "FORBIDDEN" ? `Refused: ${e.message}` : e.field ? `${e.field}: ${e.message}` : e.message));
  return (
    <div role="alert" className="alert">
      {items.map((m, i) => (
        <p key={i}>{m}</p>
      ))}
    </div>
  );
}
