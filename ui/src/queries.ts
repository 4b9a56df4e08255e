// The GraphQL documents the UI sends (schema: function/api/schema.py).
const ERRORS = "errors { field message code }";

export const DEPLOYMENT_FIELDS = `
  namespace name createdAt spec phase message outcome strategy reason confidence
  decision { revision decidedBy decidedAt commit rollbackOf llmFallback }
  alternatives { strategy reason estimatedMonthlyCost }
  cost { estimatedMonthly currency breakdown { resource description monthly } }
  endpoints { name type url }
  history { revision timestamp strategy decidedBy cost outcome reason rollbackOf current }
  similarUsed { deployment strategy outcome similarity }
  feedback { value comment }
  rollbackToRevision
`;

export const WHOAMI = `query { whoami { username groups } }`;

export const LIST = `query($ns: String!) {
  deployments(namespace: $ns) { ${DEPLOYMENT_FIELDS} } }`;

export const GET = `query($ns: String!, $name: String!) {
  deployment(namespace: $ns, name: $name) { ${DEPLOYMENT_FIELDS} } }`;

export const UPDATED = `subscription($ns: String!, $name: String) {
  deploymentUpdated(namespace: $ns, name: $name) { type deployment { ${DEPLOYMENT_FIELDS} } } }`;

export const SIMILAR = `query($ns: String!, $name: String!) {
  similarDeployments(namespace: $ns, name: $name, limit: 5) {
    namespace deploymentName revision framework strategy outcome monthlyCost feedback scope similarity
  } }`;

export const SPEC_SCHEMA = `query { specSchema }`;

export const ESTIMATE = `query($ns: String!, $spec: DeploymentSpecInput!) {
  costEstimate(namespace: $ns, spec: $spec) {
    estimate { strategy reason confidence monthly currency region framework language warnings
      breakdown { resource description monthly } alternatives { strategy reason estimatedMonthlyCost } }
    ${ERRORS} } }`;

export const CREATE = `mutation($ns: String!, $name: String!, $spec: DeploymentSpecInput!) {
  createDeployment(namespace: $ns, name: $name, spec: $spec) {
    deployment { ${DEPLOYMENT_FIELDS} } ${ERRORS} } }`;

export const FEEDBACK = `mutation($ns: String!, $name: String!, $value: String!, $comment: String) {
  provideDeploymentFeedback(namespace: $ns, name: $name, value: $value, comment: $comment) {
    deployment { ${DEPLOYMENT_FIELDS} } ${ERRORS} } }`;

export const ROLLBACK = `mutation($ns: String!, $name: String!, $revision: Int) {
  rollbackDeployment(namespace: $ns, name: $name, revision: $revision) {
    deployment { ${DEPLOYMENT_FIELDS} } ${ERRORS} } }`;

export const REDECIDE = `mutation($ns: String!, $name: String!) {
  redecideDeployment(namespace: $ns, name: $name) { deployment { ${DEPLOYMENT_FIELDS} } ${ERRORS} } }`;

export const DELETE = `mutation($ns: String!, $name: String!) {
  deleteDeployment(namespace: $ns, name: $name) { deleted ${ERRORS} } }`;
