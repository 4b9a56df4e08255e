"""Cluster commands on an AppDeployment: explain, history, feedback, rollback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml

from function.cli.exits import CliFailure, NotFound
from function.cli.output import OUTPUT_OPTION, clip, emit, fields, money, table

FEEDBACK_ANNOTATION = "scia.io/feedback"
FEEDBACK_COMMENT_ANNOTATION = "scia.io/feedback-comment"
KINDS = ("AppDeployment", "XAppDeployment")
FEEDBACK_VALUES = {"+1": "+1", "1": "+1", "up": "+1", "-1": "-1", "down": "-1", "0": "0"}

F = TypeVar("F", bound=Callable[..., Any])


def claim_or_file(fn: F) -> F:
    """NAME of a claim in the cluster, or -f FILE; with the cluster and output options."""
    fn = OUTPUT_OPTION(fn)
    fn = cluster_options(fn)
    fn = click.option(
        "-f",
        "--file",
        "file",
        default=None,
        help="a local XR/claim YAML ('-': stdin) instead of the cluster",
    )(fn)
    return click.argument("name", required=False)(fn)


def cluster_options(fn: F) -> F:
    for option in reversed(
        [
            click.option(
                "--kubeconfig",
                default=None,
                help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)",
            ),
            click.option("--context", default=None, help="kubeconfig context"),
            click.option(
                "-n",
                "--namespace",
                default=None,
                help="namespace of the claim (default: the context's, else default)",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def _api(kubeconfig: str | None, context: str | None, namespace: str | None) -> Any:
    from function.cli.kube import ClaimApi  # the kubernetes client loads only when needed

    return ClaimApi.connect(kubeconfig, context, namespace)


def read_local(path: str) -> dict[str, Any]:
    """The first AppDeployment / XAppDeployment document in a YAML or JSON file ('-': stdin)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CliFailure(f"cannot read {path}: {e}") from None
    try:
        docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError as e:
        raise CliFailure(f"{path} is not YAML: {str(e).splitlines()[0]}") from None
    for doc in docs:
        if doc.get("kind") in KINDS:
            return doc
    raise CliFailure(f"{path}: no {' or '.join(KINDS)} document")


def _load(
    name: str | None,
    file: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> dict[str, Any]:
    if (name is None) == (file is None):
        raise click.UsageError("give the claim's NAME or -f FILE (not both)")
    if file is not None:
        return read_local(file)
    assert name is not None
    return dict(_api(kubeconfig, context, namespace).get(name))


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    s = obj.get("status")
    return s if isinstance(s, dict) else {}


def _pin(status: dict[str, Any]) -> dict[str, Any]:
    d = status.get("decision")
    return d if isinstance(d, dict) else {}


def _identity(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {"kind": obj.get("kind"), "name": meta.get("name"), "namespace": meta.get("namespace")}


def explanation(obj: dict[str, Any]) -> dict[str, Any]:
    """What was decided and why, from the claim's (or XR's) status."""
    status = _status(obj)
    pin = _pin(status)
    params = pin.get("parameters") or {}
    configuration = {k: params[k] for k in ("vm", "kubernetes", "serverless") if params.get(k)}
    cost = status.get("cost") or {}
    decision = None
    if pin or status.get("strategy"):
        decision = {
            "revision": pin.get("revision"),
            "strategy": params.get("strategy") or status.get("strategy"),
            "decidedBy": pin.get("decidedBy"),
            "decidedAt": pin.get("decidedAt"),
            "confidence": params.get("confidence", status.get("confidence")),
            "reason": params.get("reason") or status.get("reason"),
            "commit": pin.get("commit"),
            "rollbackOf": pin.get("rollbackOf"),
            "llmFallback": pin.get("llmFallback"),
            "configuration": configuration,
        }
    return {
        **_identity(obj),
        "phase": status.get("phase"),
        "message": status.get("message"),
        "outcome": status.get("outcome"),
        "decision": decision,
        "alternatives": params.get("alternatives") or status.get("alternativeStrategies") or [],
        "cost": {
            "estimatedMonthly": cost.get("estimatedMonthly", pin.get("estimatedMonthlyCost")),
            "currency": cost.get("currency", "USD"),
            "breakdown": cost.get("breakdown") or pin.get("costBreakdown") or [],
        },
        "similar": pin.get("similar") or [],
        "endpoints": status.get("endpoints") or [],
    }


def _configuration_text(configuration: dict[str, Any]) -> str:
    parts = []
    for strategy, sizes in configuration.items():
        inner = ", ".join(f"{k}={v}" for k, v in sizes.items())
        parts.append(f"{strategy}: {inner}")
    return "; ".join(parts)


def explanation_text(e: dict[str, Any]) -> str:
    where = f"{e['namespace']}/{e['name']}" if e.get("namespace") else str(e.get("name"))
    head = [
        ("deployment", f"{e.get('kind')} {where}"),
        ("phase", e.get("phase")),
        ("outcome", e.get("outcome")),
    ]
    d = e.get("decision")
    if d is None:
        return fields([*head, ("decision", f"none yet ({e.get('message') or 'not decided'})")])
    by = d.get("decidedBy") or "-"
    if d.get("rollbackOf"):
        by += f" (rollback to revision {d['rollbackOf']})"
    conf = d.get("confidence")
    out = fields(
        [
            *head,
            ("strategy", d.get("strategy")),
            ("revision", d.get("revision")),
            ("decided by", by),
            ("decided at", d.get("decidedAt")),
            ("confidence", f"{conf:.2f}" if isinstance(conf, int | float) else conf),
            ("configuration", _configuration_text(d.get("configuration") or {})),
            ("commit", d.get("commit")),
            ("monthly cost", money(e["cost"].get("estimatedMonthly"))),
            ("reason", d.get("reason")),
            *([("llm fallback", d["llmFallback"])] if d.get("llmFallback") else []),
        ]
    )
    if e["cost"]["breakdown"]:
        out += "\ncost breakdown:\n" + table(
            ["RESOURCE", "MONTHLY", "DESCRIPTION"],
            [
                [b.get("resource"), money(b.get("monthly")), b.get("description")]
                for b in e["cost"]["breakdown"]
            ],
        )
    if e["alternatives"]:
        out += "\nalternatives:\n" + table(
            ["STRATEGY", "MONTHLY", "WHY NOT"],
            [
                [a.get("strategy"), money(a.get("estimatedMonthlyCost")), clip(a.get("reason"), 90)]
                for a in e["alternatives"]
            ],
        )
    out += "\nsimilar past deployments used:\n"
    if e["similar"]:
        out += table(
            ["DEPLOYMENT", "STRATEGY", "OUTCOME", "SIMILARITY", "MONTHLY"],
            [
                [
                    s.get("deployment"),
                    s.get("strategy"),
                    s.get("outcome"),
                    s.get("similarity"),
                    money(s.get("monthlyCost")),
                ]
                for s in e["similar"]
            ],
        )
    else:
        out += "  none (no memory configured, or nothing similar was stored)\n"
    for ep in e["endpoints"]:
        out += f"\nendpoint  {ep.get('name')}: {ep.get('url')}\n"
    return out


@click.command()
@claim_or_file
def explain(
    name: str | None,
    file: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    output: str,
) -> None:
    """Why this deployment: decision, reason, confidence, alternatives, cost, similar ones."""
    emit(explanation(_load(name, file, kubeconfig, context, namespace)), output, explanation_text)


def history_of(obj: dict[str, Any]) -> dict[str, Any]:
    status = _status(obj)
    pin = _pin(status)
    keep = (
        "revision",
        "timestamp",
        "strategy",
        "decidedBy",
        "cost",
        "outcome",
        "reason",
        "rollbackOf",
        "commit",
    )
    entries = [
        {k: h.get(k) for k in keep if h.get(k) is not None}
        for h in status.get("history") or []
        if isinstance(h, dict)
    ]
    return {**_identity(obj), "current": pin.get("revision"), "history": entries}


def history_text(h: dict[str, Any]) -> str:
    if not h["history"]:
        return f"no history yet for {h.get('namespace') or ''}/{h.get('name')}\n".replace(" /", " ")
    rows = []
    for e in h["history"]:
        mark = "*" if e.get("revision") == h.get("current") else ""
        by = str(e.get("decidedBy") or "")
        if e.get("rollbackOf"):
            by += f" (of {e['rollbackOf']})"
        rows.append(
            [
                f"{e.get('revision')}{mark}",
                e.get("timestamp"),
                e.get("strategy"),
                by,
                money(e.get("cost")),
                e.get("outcome"),
                clip(e.get("reason"), 70),
            ]
        )
    return table(
        ["REVISION", "TIMESTAMP", "STRATEGY", "DECIDED-BY", "MONTHLY", "OUTCOME", "REASON"], rows
    ) + ("(* the pinned revision)\n")


@click.command()
@claim_or_file
def history(
    name: str | None,
    file: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    output: str,
) -> None:
    """The decision revisions kept in status.history, newest last."""
    emit(history_of(_load(name, file, kubeconfig, context, namespace)), output, history_text)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("vote")
@click.option("--comment", default=None, help="why (stored with the feedback)")
@cluster_options
@OUTPUT_OPTION
def feedback(
    name: str,
    vote: str,
    comment: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    output: str,
) -> None:
    """Rate the current decision: +1 (good), -1 (bad) or 0 (withdraw).

    Sets the annotations scia.io/feedback and scia.io/feedback-comment on the claim; the
    function stores them with the decision in the deployment memory, where down-voted
    deployments are no longer suggested. Without --comment an earlier comment is removed.
    """
    value = FEEDBACK_VALUES.get(vote.strip().lower())
    if value is None:
        raise click.BadParameter(f"{vote!r}: give +1, -1 or 0", param_hint="VOTE")
    if comment is not None and len(comment) > 1000:
        raise click.BadParameter("at most 1000 characters", param_hint="--comment")
    api = _api(kubeconfig, context, namespace)
    patch = {
        "metadata": {
            "annotations": {FEEDBACK_ANNOTATION: value, FEEDBACK_COMMENT_ANNOTATION: comment}
        }
    }
    obj = api.merge_patch(name, patch)
    revision = _pin(_status(obj)).get("revision")
    result = {**_identity(obj), "feedback": value, "comment": comment, "revision": revision}
    emit(
        result,
        output,
        lambda r: (
            f"feedback {r['feedback']} on {r['namespace']}/{r['name']}"
            + (f" (decision revision {r['revision']})" if r["revision"] else "")
            + (f": {r['comment']}" if r["comment"] else "")
            + "\n"
        ),
    )


@click.command()
@click.argument("name")
@click.option(
    "--to-revision", type=click.IntRange(min=1), default=None, help="the revision to re-pin"
)
@click.option(
    "--clear", is_flag=True, help="remove spec.rollbackToRevision (decide normally again)"
)
@cluster_options
@OUTPUT_OPTION
def rollback(
    name: str,
    to_revision: int | None,
    clear: bool,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    output: str,
) -> None:
    """Re-pin an earlier revision's decision (sets spec.rollbackToRevision on the claim).

    The revision must be in status.history. The rollback holds while the field is set;
    `--clear` removes it so that spec or commit changes lead to new decisions again.
    """
    if (to_revision is None) == (not clear):
        raise click.UsageError("give --to-revision N or --clear")
    api = _api(kubeconfig, context, namespace)
    if clear:
        obj = api.merge_patch(name, {"spec": {"rollbackToRevision": None}})
        emit(
            {**_identity(obj), "rollbackToRevision": None},
            output,
            lambda r: f"cleared spec.rollbackToRevision on {r['namespace']}/{r['name']}\n",
        )
        return
    current = api.get(name)
    kept = history_of(current)
    revisions = [h.get("revision") for h in kept["history"]]
    if revisions and to_revision not in revisions:
        raise NotFound(
            f"revision {to_revision} is not in the history of {api.namespace}/{name} "
            f"(kept: {', '.join(str(r) for r in revisions)})",
        )
    if kept["current"] == to_revision:
        raise CliFailure(f"revision {to_revision} is already the pinned decision")
    obj = api.merge_patch(name, {"spec": {"rollbackToRevision": to_revision}})
    emit(
        {**_identity(obj), "rollbackToRevision": to_revision, "from": kept["current"]},
        output,
        lambda r: (
            f"{r['namespace']}/{r['name']}: rollback to revision {r['rollbackToRevision']} "
            f"requested (pinned now: {r['from']}); the function re-pins it on its next "
            "reconcile\n"
        ),
    )
