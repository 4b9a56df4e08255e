// Shapes of what scia-api answers (function/api/types.py).
export type ErrorCode =
  | "INVALID"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "UNAVAILABLE"
  | "FAILED";

export interface FieldError {
  field: string | null;
  message: string;
  code: ErrorCode;
}

export interface CostItem {
  resource: string;
  description: string | null;
  monthly: number | null;
}

export interface Alternative {
  strategy: string;
  reason: string | null;
  estimatedMonthlyCost: number | null;
}

export interface Revision {
  revision: number | null;
  timestamp: string | null;
  strategy: string | null;
  decidedBy: string | null;
  cost: number | null;
  outcome: string | null;
  reason: string | null;
  rollbackOf: number | null;
  current: boolean;
}

export interface Deployment {
  namespace: string;
  name: string;
  createdAt: string | null;
  spec: Record<string, unknown>;
  phase: string | null;
  message: string | null;
  outcome: string | null;
  strategy: string | null;
  reason: string | null;
  confidence: number | null;
  decision: {
    revision: number | null;
    decidedBy: string | null;
    decidedAt: string | null;
    commit: string | null;
    rollbackOf: number | null;
    llmFallback: string | null;
  } | null;
  alternatives: Alternative[];
  cost: { estimatedMonthly: number | null; currency: string; breakdown: CostItem[] };
  endpoints: { name: string | null; type: string | null; url: string | null }[];
  history: Revision[];
  similarUsed: {
    deployment: string | null;
    strategy: string | null;
    outcome: string | null;
    similarity: number | null;
  }[];
  feedback: { value: string | null; comment: string | null };
  rollbackToRevision: number | null;
}

export interface PastDeployment {
  namespace: string;
  deploymentName: string;
  revision: number;
  framework: string | null;
  strategy: string;
  outcome: string;
  monthlyCost: number | null;
  feedback: number;
  scope: string;
  similarity: number;
}

export interface Estimate {
  strategy: string;
  reason: string;
  confidence: number;
  monthly: number;
  currency: string;
  region: string;
  breakdown: CostItem[];
  alternatives: Alternative[];
  framework: string | null;
  language: string | null;
  warnings: string[];
}

export function money(v: number | null | undefined, currency = "USD"): string {
  if (v === null || v === undefined) return "–";
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(v);
}
