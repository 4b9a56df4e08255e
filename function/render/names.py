"""Cloud-side names that follow each cloud's own rules, generated from the XR's identity.

`apply_names` (AWS) and `apply_gcp_names` (GCP) are the per-cloud hooks dispatch.py calls;
`gcp_labels` turns tags into GCP labels. The AWS part:

Every name is `<slug>-<hash>[-<kind>]`: the slug is the tenant and deployment name made
safe for the kind, the hash is 8 hex digits of sha256(XR uid / composition-resource name),
so two XRs (or two resources of one XR, or two generations of one resource) never share a
name in an account and region, whatever their Kubernetes names are. The hash is kept
whole; only the slug is cut to fit the kind's length limit.

A name that exists is never changed: `keep_or_generate` returns the observed name when the
resource was already composed (an upgrade of this function must not rename, and so replace,
what runs). Which AWS name a managed resource gets depends on provider-upjet-aws's
external-name configuration (config/externalname.go, v2.6.0):

- NameAsIdentifier / ParameterAsIdentifier / a template over the external name
  (AutoscalingGroup, autoscaling Policy, MetricAlarm, eks Cluster, NodeGroup, iam Role,
  lambda Function): the AWS name is the `crossplane.io/external-name` annotation, which
  defaults to metadata.name (`<xr name>-<random>`, up to 253 characters with dots: not a
  valid name for most of these). We set the annotation.
- IdentifierFromProvider with a `name` parameter (elbv2 LB, LBTargetGroup): we set
  forProvider.name.
- IdentifierFromProvider without one we set (VPC, subnets, security groups, launch
  templates, listeners, rules, attachments, Function URLs, Permissions, certificates,
  add-ons): AWS or the provider assigns a unique id; we bound the free text we send
  (descriptions, statement ids, Name tags).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

EXTERNAL_NAME = "crossplane.io/external-name"


@dataclass(frozen=True)
class NameRule:
    """AWS's rule for one kind of name: length, characters, first/last character, prefixes."""

    what: str
    max_len: int
    allowed: str  # a regex character class body: what may appear
    source: str
    alnum_ends: bool = False  # first and last character must be a letter or a digit
    alnum_first: bool = False  # only the first must be
    reserved_prefixes: tuple[str, ...] = ()
    case_insensitive_unique: bool = False
    letter_first: bool = False  # RFC 1035 (GCP): a letter first

    def valid(self, name: str) -> bool:
        if not 1 <= len(name) <= self.max_len:
            return False
        if not re.fullmatch(f"[{self.allowed}]+", name):
            return False
        if (self.alnum_ends or self.alnum_first) and not name[0].isalnum():
            return False
        if self.alnum_ends and not name[-1].isalnum():
            return False
        if self.letter_first and not name[0].isalpha():
            return False
        return not any(name.lower().startswith(p) for p in self.reserved_prefixes)


_ELB = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/"
RULES: dict[str, NameRule] = {
    "LB": NameRule(
        "load balancer name",
        32,
        "A-Za-z0-9-",
        _ELB + "API_CreateLoadBalancer.html (Name)",
        alnum_ends=True,
        reserved_prefixes=("internal-",),
    ),
    "LBTargetGroup": NameRule(
        "target group name",
        32,
        "A-Za-z0-9-",
        _ELB + "API_CreateTargetGroup.html (Name)",
        alnum_ends=True,
    ),
    "AutoscalingGroup": NameRule(
        "auto scaling group name",
        255,
        "A-Za-z0-9._-",  # AWS allows more; a colon would break ARN parsing, so we don't
        "https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html",
        alnum_first=True,
    ),
    "Policy": NameRule(
        "scaling policy name",
        255,
        "A-Za-z0-9._-",
        "https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutScalingPolicy.html",
        alnum_first=True,
    ),
    "MetricAlarm": NameRule(
        "alarm name",
        255,
        "A-Za-z0-9._-",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html",
        alnum_first=True,
    ),
    "Cluster": NameRule(
        "EKS cluster name",
        100,
        "A-Za-z0-9_-",
        "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html "
        "(^[0-9A-Za-z][A-Za-z0-9-_]*, 1-100)",
        alnum_first=True,
    ),
    "NodeGroup": NameRule(
        "EKS node group name",
        63,
        "A-Za-z0-9_-",
        "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html; "
        "terraform-provider-aws eks/node_group.go (StringLenBetween(0, 63))",
        alnum_first=True,
    ),
    "Role": NameRule(
        "IAM role name",
        64,
        r"\w+=,.@-",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html "
        "(unique per account, case-insensitive)",
        alnum_first=True,
        case_insensitive_unique=True,
    ),
    "Function": NameRule(
        "Lambda function name",
        64,
        "A-Za-z0-9_-",
        "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html (FunctionName)",
        alnum_first=True,
    ),
    "StatementId": NameRule(
        "Lambda permission statement id",
        100,
        "A-Za-z0-9_-",
        "https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html (StatementId)",
    ),
}

# Kinds whose AWS name is the external-name annotation (provider-upjet-aws externalname.go).
EXTERNAL_NAME_KINDS = {
    "AutoscalingGroup": "AutoscalingGroup",  # config.NameAsIdentifier
    "Policy": "Policy",  # TemplatedStringAsIdentifier("name", "<group>/<external_name>")
    "MetricAlarm": "MetricAlarm",  # ParameterAsIdentifier("alarm_name")
    "Cluster": "Cluster",  # config.NameAsIdentifier
    "NodeGroup": "NodeGroup",  # TemplatedStringAsIdentifier("node_group_name", ...)
    "Role": "Role",  # config.NameAsIdentifier
    "Function": "Function",  # ParameterAsIdentifier("function_name")
}
# Kinds whose AWS name is forProvider.name (IdentifierFromProvider, name is a parameter).
FOR_PROVIDER_NAME_KINDS = {"LB": "LB", "LBTargetGroup": "LBTargetGroup"}

# Free text AWS bounds (characters we send are already within each set).
MAX_DESCRIPTION = {
    "SecurityGroup": 255,  # ec2 CreateSecurityGroup GroupDescription
    "SecurityGroupIngressRule": 255,  # ec2 IpRange/SecurityGroupRule Description
    "SecurityGroupEgressRule": 255,
    "LaunchTemplate": 255,  # ec2 CreateLaunchTemplate VersionDescription
    "Function": 256,  # lambda CreateFunction Description
    "Role": 1000,  # iam CreateRole Description
}
MAX_ALARM_DESCRIPTION = 1024  # cloudwatch PutMetricAlarm AlarmDescription
MAX_TAG_VALUE = 256  # tagging: tag values


def _hash(uid: str, component: str) -> str:
    return hashlib.sha256(f"{uid}/{component}".encode()).hexdigest()[:8]


def _slug(text: str, allowed: str) -> str:
    s = re.sub(f"[^{allowed}]+", "-", text.lower())
    s = re.sub("-{2,}", "-", s)
    return s.strip("-_.")


def generate(
    rule: NameRule, tenant: str, deployment: str, uid: str, component: str, kind_hint: str = ""
) -> str:
    """A name for `component` of the XR (tenant, deployment, uid) that satisfies `rule`.

    Deterministic; unique per (uid, component) up to a 32-bit hash; the readable part is
    cut, never the hash. `kind_hint` (e.g. "tg") is appended when it fits.
    """
    h = _hash(uid, component)
    tail = f"-{h}" + (f"-{kind_hint}" if kind_hint else "")
    if len(tail) + 1 > rule.max_len:
        tail = f"-{h}"
    room = rule.max_len - len(tail)
    slug = _slug(f"{tenant}-{deployment}", rule.allowed)
    if (
        not slug
        or not slug[0].isalnum()
        or (rule.letter_first and not slug[0].isalpha())
        or any((slug + tail).lower().startswith(p) for p in rule.reserved_prefixes)
    ):
        slug = f"s-{slug}" if slug else "s"
    slug = slug[:room].rstrip("-_.")
    name = f"{slug}{tail}"
    if not rule.valid(name):  # "s" plus the hash fits every rule above
        name = f"s{h}"
    return name


def bounded(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marking the cut with '...'."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def observed_external_name(observed: dict[str, Any] | None) -> str | None:
    """The AWS name an observed resource has (or will get): its external-name, else its name.

    crossplane-runtime's NameAsExternalName initializer copies metadata.name into the
    annotation before the provider creates anything, so an observed resource without the
    annotation has not been created yet and will be created under metadata.name.
    """
    if not observed:
        return None
    meta = observed.get("metadata") or {}
    ann = (meta.get("annotations") or {}).get(EXTERNAL_NAME)
    if isinstance(ann, str) and ann:
        return ann
    name = meta.get("name")
    return str(name) if isinstance(name, str) and name else None


def observed_for_provider_name(observed: dict[str, Any] | None) -> str | None:
    if not observed:
        return None
    fp = ((observed.get("spec") or {}).get("forProvider")) or {}
    name = fp.get("name")
    return str(name) if isinstance(name, str) and name else None


_SHORT_HINT = {"LB": "lb", "LBTargetGroup": "tg"}


# ---- Google Cloud ---------------------------------------------------------------------------
# Resource names are RFC 1035 labels: 1-63 characters, lowercase letters, digits and '-',
# a letter first, no '-' last (https://cloud.google.com/compute/docs/naming-resources).
_GCP_NAMING = "https://cloud.google.com/compute/docs/naming-resources"
_RFC1035 = NameRule(
    "GCP resource name (RFC 1035)", 63, "a-z0-9-", _GCP_NAMING, alnum_ends=True, letter_first=True
)
RULES_GCP: dict[str, NameRule] = {
    "rfc1035": _RFC1035,
    # A managed instance group's baseInstanceName prefixes its instances' names, which get a
    # "-" and 4 characters appended: at most 58 (Compute API instanceGroupManagers).
    "baseInstanceName": NameRule(
        "MIG base instance name",
        58,
        "a-z0-9-",
        "https://cloud.google.com/compute/docs/reference/rest/v1/instanceGroupManagers "
        "(baseInstanceName: 1-58 characters, RFC 1035)",
        alnum_ends=True,
        letter_first=True,
    ),
    # GKE cluster names: 1-40 characters, lowercase letters, digits and '-', a letter first.
    "gkeCluster": NameRule(
        "GKE cluster name",
        40,
        "a-z0-9-",
        "https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations."
        "clusters#Cluster (name: 1-40 characters)",
        alnum_ends=True,
        letter_first=True,
    ),
    # Cloud Run service names: at most 49 characters, lowercase letters, digits and '-',
    # a letter first, no '-' last.
    "cloudRunService": NameRule(
        "Cloud Run service name",
        49,
        "a-z0-9-",
        "https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.services "
        "(service id: less than 50 characters)",
        alnum_ends=True,
        letter_first=True,
    ),
}
# provider-upjet-gcp (config/externalname.go): these kinds' GCP name is the external-name
# annotation (their forProvider has no name parameter; the CRDs show it).
EXTERNAL_NAME_KINDS_GCP = {
    "Network": "rfc1035",
    "Subnetwork": "rfc1035",
    "Router": "rfc1035",
    "RouterNAT": "rfc1035",
    "Firewall": "rfc1035",
    "RegionAutoscaler": "rfc1035",
    "HealthCheck": "rfc1035",
    "BackendService": "rfc1035",
    "URLMap": "rfc1035",
    "TargetHTTPProxy": "rfc1035",
    "TargetHTTPSProxy": "rfc1035",
    "GlobalForwardingRule": "rfc1035",
    "GlobalAddress": "rfc1035",
    "ManagedSSLCertificate": "rfc1035",
    "Cluster": "gkeCluster",
    "NodePool": "rfc1035",
    "V2Service": "cloudRunService",
    # Artifact Registry repository ids: lowercase letters, digits and '-', a letter first,
    # at most 63 (https://cloud.google.com/artifact-registry/docs/repositories/create-repos).
    "RegistryRepository": "rfc1035",
}
# Kinds whose GCP name is forProvider.name (a parameter; the id comes from the provider).
FOR_PROVIDER_NAME_KINDS_GCP = {
    "InstanceTemplate": "rfc1035",
    "RegionInstanceGroupManager": "rfc1035",
}

# GCP labels: at most 64 per resource; keys 1-63 characters of lowercase letters, digits,
# '_' and '-', starting with a letter; values 0-63 of the same characters
# (https://cloud.google.com/compute/docs/labeling-resources#requirements).
GCP_MAX_LABELS = 64
_GCP_LABEL_BAD = re.compile(r"[^a-z0-9_-]")


def gcp_label_key(key: str) -> str:
    """A label key GCP accepts: 'scia.io/tenant' -> 'scia_io_tenant'."""
    k = _GCP_LABEL_BAD.sub("_", key.lower())[:63]
    if not k or not k[0].isalpha():
        k = ("l" + k)[:63]
    return k


def gcp_label_value(value: str) -> str:
    """A label value GCP accepts: lowercase letters, digits, '_' and '-', at most 63."""
    return _GCP_LABEL_BAD.sub("_", value.lower())[:63]


def gcp_labels(own: dict[str, str], tenant: dict[str, str]) -> dict[str, str]:
    """The product's tags (`own`: scia.io/*, managed-by) and a CloudProvider's (`tenant`) as
    GCP labels, valid by GCP's rules.

    The product's labels are made valid first and always win: a CloudProvider tag whose key
    becomes one of theirs once made valid (`scia_io_tenant`, `SCIA.IO/TENANT`) is dropped,
    never written over them. CloudProvider tags that collide with each other once made
    valid keep the first in sorted order. At most 64 labels, the product's first."""
    out: dict[str, str] = {}
    for key, value in [*sorted(own.items()), *sorted(tenant.items())]:
        k = gcp_label_key(key)
        if k not in out and len(out) < GCP_MAX_LABELS:
            out[k] = gcp_label_value(value)
    return out


def gcp_label_problem(key: str, value: str) -> str | None:
    """Why (key, value) is not a valid GCP label, or None."""
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", key):
        return f"label key {key!r}"
    if not re.fullmatch(r"[a-z0-9_-]{0,63}", value):
        return f"label value {value!r} of {key!r}"
    return None


def apply_names(
    desired: dict[str, dict[str, Any]],
    observed: dict[str, dict[str, Any]],
    *,
    tenant: str,
    deployment: str,
    uid: str,
) -> None:
    """Give every desired AWS resource whose AWS name we choose a valid one, in place.

    The observed name wins (a composed resource keeps its name); otherwise a name is
    generated from the XR identity and the composition-resource name.
    """
    _apply(
        desired,
        observed,
        {k: RULES[v] for k, v in EXTERNAL_NAME_KINDS.items()},
        {k: RULES[v] for k, v in FOR_PROVIDER_NAME_KINDS.items()},
        tenant=tenant,
        deployment=deployment,
        uid=uid,
        permissions=True,
    )


def apply_gcp_names(
    desired: dict[str, dict[str, Any]],
    observed: dict[str, dict[str, Any]],
    *,
    tenant: str,
    deployment: str,
    uid: str,
) -> None:
    """Give every desired GCP resource a valid GCP name, in place (as apply_names), and a
    managed instance group a valid baseInstanceName."""
    _apply(
        desired,
        observed,
        {k: RULES_GCP[v] for k, v in EXTERNAL_NAME_KINDS_GCP.items()},
        {k: RULES_GCP[v] for k, v in FOR_PROVIDER_NAME_KINDS_GCP.items()},
        tenant=tenant,
        deployment=deployment,
        uid=uid,
        permissions=False,
    )
    rule = RULES_GCP["baseInstanceName"]
    for component, body in desired.items():
        if body.get("kind") != "RegionInstanceGroupManager":
            continue
        fp = body.setdefault("spec", {}).setdefault("forProvider", {})
        kept = ((observed.get(component) or {}).get("spec") or {}).get("forProvider") or {}
        base = kept.get("baseInstanceName")
        fp["baseInstanceName"] = (
            base
            if isinstance(base, str) and base
            else generate(rule, tenant, deployment, uid, component + "/instances", "vm")
        )


def aws_external_name(
    kind: str,
    component: str,
    observed: dict[str, dict[str, Any]],
    *,
    tenant: str,
    deployment: str,
    uid: str,
) -> str:
    """The AWS name apply_names gives `component` (of an external-name kind): for a
    renderer that must name it elsewhere (an alarm an instance refresh watches)."""
    rule = RULES[EXTERNAL_NAME_KINDS[kind]]
    seen = observed.get(component)
    return _keep(rule, observed_external_name(seen), seen) or generate(
        rule, tenant, deployment, uid, component, name_hint(rule, kind, component)
    )


def gcp_external_name(
    kind: str,
    component: str,
    observed: dict[str, dict[str, Any]],
    *,
    tenant: str,
    deployment: str,
    uid: str,
) -> str:
    """The GCP name apply_gcp_names gives `component` (of an external-name kind): for a
    renderer that must name it elsewhere (an alert policy's filter)."""
    rule = RULES_GCP[EXTERNAL_NAME_KINDS_GCP[kind]]
    seen = observed.get(component)
    return _keep(rule, observed_external_name(seen), seen) or generate(
        rule, tenant, deployment, uid, component, name_hint(rule, kind, component)
    )


def _apply(
    desired: dict[str, dict[str, Any]],
    observed: dict[str, dict[str, Any]],
    external: dict[str, NameRule],
    for_provider: dict[str, NameRule],
    *,
    tenant: str,
    deployment: str,
    uid: str,
    permissions: bool,
) -> None:
    for component, body in desired.items():
        kind = str(body.get("kind"))
        seen = observed.get(component)
        if kind in external:
            rule = external[kind]
            name = _keep(rule, observed_external_name(seen), seen) or generate(
                rule, tenant, deployment, uid, component, name_hint(rule, kind, component)
            )
            meta = body.setdefault("metadata", {})
            meta.setdefault("annotations", {})[EXTERNAL_NAME] = name
        elif kind == "Permission" and permissions:
            # A statement id is unique per function policy: a new generation on the same
            # function must not reuse the old one's (Permission id = statement id).
            fp = body.get("spec", {}).get("forProvider", {})
            kept = ((seen or {}).get("spec") or {}).get("forProvider", {}).get("statementId")
            gen = re.search(r"-g([0-9a-f]{6})$", component)
            if isinstance(kept, str) and kept:
                fp["statementId"] = kept
            elif gen and "statementId" in fp:
                fp["statementId"] = f"{fp['statementId']}-{gen.group(1)}"
        elif kind in for_provider:
            rule = for_provider[kind]
            name = _keep(rule, observed_for_provider_name(seen), seen) or generate(
                rule, tenant, deployment, uid, component, name_hint(rule, kind, component)
            )
            body.setdefault("spec", {}).setdefault("forProvider", {})["name"] = name


def _keep(rule: NameRule, name: str | None, seen: dict[str, Any] | None) -> str | None:
    """The observed name, unless AWS refused it: invalid and nothing was created.

    A resource that exists keeps its name whatever it is (renaming would replace it); one
    whose name AWS rejects (an earlier release's `internal-...` load balancer, a Lambda
    name with dots) was never created, so a valid name costs nothing.
    """
    if name is None or rule.valid(name):
        return name
    at = ((seen or {}).get("status") or {}).get("atProvider") or {}
    created = isinstance(at, dict) and bool(at.get("arn") or at.get("id"))
    return name if created else None


def name_hint(rule: NameRule, kind: str, component: str) -> str:
    """The short part of a generated name that says what the resource is: a fixed hint per
    kind, else the composition-resource name in the rule's alphabet."""
    if kind in _SHORT_HINT:
        return _SHORT_HINT[kind]
    hint = _slug(component, rule.allowed)
    return hint if len(hint) <= rule.max_len // 3 else ""
