"""Over-long status messages lose their image references' registry paths, never the log's
location or what is kept (function/messages.py)."""

from __future__ import annotations

from function.messages import compact_images, with_suffix
from function.render.kube.units import bounded

GAR = "europe-west1-docker.pkg.dev/acme-prod/artifact-repository-0123abcd/app"
OLD, NEW = "264f6cc6078ab222608d999b72d62cf9bd31225a", "9433a527b0a6d3fc7beec6f8b65475e819d42a9f"
LOG = (
    '; build log: Cloud Logging: resource.type="k8s_container" resource.labels.cluster_name='
    '"team-a-express-gke-5186c1f2-gke-cluster" resource.labels.namespace_name="scia-build", '
    "pod of job scia-build/build-9433a527b0a6-express-gke"
)


def test_commit_tagged_references_become_name_and_short_tag() -> None:
    text = f"the build of {GAR}:{NEW} failed; {GAR}:web-{OLD} keeps serving; nginx:1.27 too"
    assert compact_images(text) == (
        "the build of app:9433a527b0a6 failed; app:web-264f6cc6078a keeps serving; nginx:1.27 too"
    )


def test_a_failed_build_on_gke_keeps_what_serves_and_where_the_log_is() -> None:
    message = (
        f"the build of {GAR}:{NEW} failed (Job has reached the specified backoff limit); "
        f"{GAR}:{OLD} keeps serving"
    )
    got = bounded(message, LOG, 500)
    assert len(got) <= 500
    assert got.endswith(LOG)
    assert "app:264f6cc6078a keeps serving" in got and "..." not in got


def test_a_suffix_fits_whole_or_not_at_all() -> None:
    rollout = f"the rollout of {GAR}:{NEW} did not progress; rolling back to {GAR}:{OLD}" + LOG
    keeping = "; keeping node-pool of revision 1 until revision 2 is ready"
    got = with_suffix(rollout, keeping, 500)
    assert got.endswith(keeping) and len(got) <= 500 and LOG.removeprefix("; ") in got
    assert with_suffix("short", keeping, 500) == "short" + keeping
    too_long = "x" * 480
    assert with_suffix(too_long, keeping, 500) == too_long  # never '...; keeping'
