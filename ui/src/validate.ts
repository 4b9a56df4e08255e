// Checks a spec against the XRD's OpenAPI v3 schema (from scia-api's specSchema query), the
// way the API server will, so the form can name each wrong field before anything is sent.
// Covers what the AppDeployment schema uses: type, required, enum, minimum/maximum,
// minLength/maxLength, pattern, maxItems and items.
export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  maxItems?: number;
  items?: Schema;
  description?: string;
  default?: unknown;
}

export type Errors = Record<string, string>;

export function validate(value: unknown, schema: Schema, path: string, out: Errors = {}): Errors {
  if (value === undefined || value === null) return out;
  const t = schema.type;
  if (t === "object") {
    if (typeof value !== "object" || Array.isArray(value)) {
      out[path] = "must be an object";
      return out;
    }
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (obj[key] === undefined || obj[key] === "") out[`${path}.${key}`] = "required";
    }
    for (const [key, v] of Object.entries(obj)) {
      if (out[`${path}.${key}`]) continue; // already reported (required)
      const sub = schema.properties?.[key];
      if (sub) validate(v, sub, `${path}.${key}`, out);
      else if (schema.properties) out[`${path}.${key}`] = "unknown field";
    }
    return out;
  }
  if (t === "array") {
    if (!Array.isArray(value)) {
      out[path] = "must be a list";
      return out;
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      out[path] = `at most ${schema.maxItems} items`;
    value.forEach((v, i) => schema.items && validate(v, schema.items, `${path}[${i}]`, out));
    return out;
  }
  if (t === "number" || t === "integer") {
    if (typeof value !== "number" || Number.isNaN(value)) {
      out[path] = "must be a number";
      return out;
    }
    if (t === "integer" && !Number.isInteger(value)) out[path] = "must be a whole number";
    else if (schema.minimum !== undefined && value < schema.minimum)
      out[path] = `must be at least ${schema.minimum}`;
    else if (schema.maximum !== undefined && value > schema.maximum)
      out[path] = `must be at most ${schema.maximum}`;
    return out;
  }
  if (t === "string") {
    if (typeof value !== "string") {
      out[path] = "must be text";
      return out;
    }
    if (schema.enum && !schema.enum.includes(value))
      out[path] = `must be one of: ${schema.enum.join(", ")}`;
    else if (schema.minLength !== undefined && value.length < schema.minLength)
      out[path] = schema.minLength === 1 ? "required" : `at least ${schema.minLength} characters`;
    else if (schema.maxLength !== undefined && value.length > schema.maxLength)
      out[path] = `at most ${schema.maxLength} characters`;
    else if (schema.pattern && !new RegExp(schema.pattern).test(value))
      out[path] = patternMessage(path);
  }
  return out;
}

function patternMessage(path: string): string {
  if (path.endsWith("repository.url"))
    return "must be an https://, ssh://, git:// or git@host:path URL without spaces";
  if (path.endsWith(".region")) return "must look like us-east-1";
  if (path.endsWith("cloudProviderRef.name")) return "must be a lower-case name";
  return "has the wrong format";
}

// Kubernetes object names (RFC 1123 subdomain).
export function nameError(name: string): string | null {
  if (!name) return "required";
  if (name.length > 253) return "at most 253 characters";
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name))
    return "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit";
  return null;
}
