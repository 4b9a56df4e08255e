"""The CodeBuild buildspec that builds one commit's image and reports the outcome (pure).

The build (docs/build.md) runs in a CodeBuild project without a CodeBuild source
(`NO_SOURCE`): the script below fetches the repository itself, at the pinned commit, so any
git host works and the commit is checked (`git rev-parse HEAD`). It then builds the image
with the recipe (function/build/dockerfile.py: the repository's Dockerfile, or the
generated one, embedded here in base64), pushes it to the deployment's ECR repository
tagged with the full commit SHA, and writes the outcome, as one JSON object, to the
deployment's SSM build-status parameter, which a managed resource observes:

    {"token": "<build token>", "commit": "<sha>", "state": "BUILDING|SUCCEEDED|FAILED",
     "buildId": "<CODEBUILD_BUILD_ID>", "step": "<last step>", "digest": "sha256:..."}

`token` names the build that is wanted (the commit and a rebuild request): a status with
another token is an older build's. The script is idempotent: started again for a token
whose outcome is already recorded, or for a commit whose image already exists (immutable
tags: the push would fail anyway), it records success without building. CodeBuild bills a
started build for at least one minute.

Every value the script uses comes from the project's environment variables (set by the
render, plain text: none is a secret) or from CodeBuild; a git token, when the repository
is private, comes from AWS Secrets Manager through the buildspec's `env.secrets-manager`
and is handed to git by a credential helper reading the environment: it never appears in a
URL, an argument, a manifest or the log.

Environment: SCIA_GIT_URL, SCIA_COMMIT, SCIA_TOKEN, SCIA_IMAGE_REPOSITORY (the ECR
repository URL), SCIA_STATUS_PARAMETER, SCIA_CONTEXT, SCIA_DOCKERFILE (a path in the
repository, or empty for the generated one), SCIA_PLATFORM (linux/amd64 or linux/arm64),
SCIA_LAMBDA_ADAPTER (for Lambda: the AWS Lambda Web Adapter image; the built image gets
one more layer, the adapter as a Lambda extension in /opt/extensions, whatever Dockerfile
built it), SCIA_WRAPPER_DOCKERFILE (a repository's own Dockerfile: the Dockerfile, in
base64, that adds the configuration launcher around the built image, function/build/
launcher.py; a generated Dockerfile carries the launcher itself).
"""

from __future__ import annotations

import base64

import yaml

from function.build.dockerfile import BuildRecipe

GIT_TOKEN_VARIABLE = "SCIA_GIT_TOKEN"  # noqa: S105 (a variable name)

_SCRIPT = r"""set -uo pipefail
step=start
record() {
  value=$(jq -cn --arg token "$SCIA_TOKEN" --arg commit "$SCIA_COMMIT" --arg state "$1" \
    --arg build "${CODEBUILD_BUILD_ID:-}" --arg step "$step" --arg digest "${2:-}" \
    '{token:$token,commit:$commit,state:$state,buildId:$build,step:$step,digest:$digest}')
  aws ssm put-parameter --name "$SCIA_STATUS_PARAMETER" --type String --overwrite \
    --value "$value" >/dev/null
}
current=$(aws ssm get-parameter --name "$SCIA_STATUS_PARAMETER" \
  --query Parameter.Value --output text 2>/dev/null || echo '{}')
done_state=$(printf '%s' "$current" | jq -r --arg t "$SCIA_TOKEN" \
  'if .token == $t and (.state == "SUCCEEDED" or .state == "FAILED") then .state else "" end' \
  2>/dev/null || true)
if [ -n "$done_state" ]; then echo "build $SCIA_TOKEN already $done_state"; exit 0; fi
repo_name=${SCIA_IMAGE_REPOSITORY#*/}
registry=${SCIA_IMAGE_REPOSITORY%%/*}
existing=$(aws ecr describe-images --repository-name "$repo_name" \
  --image-ids imageTag="$SCIA_COMMIT" --query 'imageDetails[0].imageDigest' \
  --output text 2>/dev/null || true)
if [ -n "$existing" ] && [ "$existing" != "None" ]; then
  step=exists; record SUCCEEDED "$existing"; echo "image $SCIA_COMMIT exists"; exit 0
fi
record BUILDING
trap 'rc=$?; if [ "$rc" -ne 0 ]; then record FAILED; fi' EXIT
set -e
step=fetch
export GIT_TERMINAL_PROMPT=0
if [ -n "${SCIA_GIT_TOKEN:-}" ]; then
  git config --global credential.helper \
    '!f() { echo "username=${SCIA_GIT_USERNAME:-x-access-token}"; '\
'echo "password=${SCIA_GIT_TOKEN}"; }; f'
fi
work=$(mktemp -d)
mkdir -p "$work/src" && cd "$work/src"
git init -q . && git remote add origin "$SCIA_GIT_URL"
git fetch -q --depth 1 origin "$SCIA_COMMIT" || git fetch -q origin
git checkout -q --detach "$SCIA_COMMIT"
test "$(git rev-parse HEAD)" = "$SCIA_COMMIT"
step=dockerfile
dockerfile="$SCIA_DOCKERFILE"
if [ -z "$dockerfile" ]; then
  printf '%s' "$SCIA_GENERATED_DOCKERFILE" | base64 -d > "$work/Dockerfile"
  printf '%s' "$SCIA_GENERATED_DOCKERIGNORE" | base64 -d > "$work/Dockerfile.dockerignore"
  dockerfile="$work/Dockerfile"
fi
step=login
aws ecr get-login-password | docker login --username AWS --password-stdin "$registry"
step=build
image="$SCIA_IMAGE_REPOSITORY:$SCIA_COMMIT"
app="$image"
if [ -n "${SCIA_WRAPPER_DOCKERFILE:-}" ] || [ -n "${SCIA_LAMBDA_ADAPTER:-}" ]; then
  app="scia-app:$SCIA_COMMIT"
fi
DOCKER_BUILDKIT=1 docker build --platform "$SCIA_PLATFORM" -f "$dockerfile" \
  --label "org.opencontainers.image.revision=$SCIA_COMMIT" -t "$app" "$SCIA_CONTEXT"
if [ -n "${SCIA_WRAPPER_DOCKERFILE:-}" ]; then
  step=launcher
  wrapped="$image"
  if [ -n "${SCIA_LAMBDA_ADAPTER:-}" ]; then wrapped="scia-app-launcher:$SCIA_COMMIT"; fi
  mkdir -p "$work/launcher"
  printf '%s' "$SCIA_WRAPPER_DOCKERFILE" | base64 -d > "$work/launcher/Dockerfile"
  DOCKER_BUILDKIT=1 docker build --platform "$SCIA_PLATFORM" \
    --build-arg "SCIA_APP_IMAGE=$app" -t "$wrapped" "$work/launcher"
  app="$wrapped"
fi
if [ -n "${SCIA_LAMBDA_ADAPTER:-}" ]; then
  step=adapter
  printf 'FROM %s\nCOPY --from=%s /lambda-adapter /opt/extensions/lambda-adapter\n' \
    "$app" "$SCIA_LAMBDA_ADAPTER" | DOCKER_BUILDKIT=1 docker build \
    --platform "$SCIA_PLATFORM" -t "$image" -
fi
step=push
docker push "$image"
digest=$(docker inspect --format '{{index .RepoDigests 0}}' "$image" | sed 's/.*@//')
step=done
trap - EXIT
record SUCCEEDED "$digest"
"""


def buildspec(recipe: BuildRecipe, *, private: bool = False, secret_arn: str | None = None) -> str:
    """The buildspec (YAML text) for `recipe`.

    With `private`, `secret_arn` is the Secrets Manager secret holding the git token as its
    whole secret string; it reaches the build as $SCIA_GIT_TOKEN. Raises ValueError when
    `private` is asked without a secret.
    """
    if private and not secret_arn:
        raise ValueError("a private repository needs the git token's secret ARN")
    variables: dict[str, str] = {}
    if recipe.origin == "generated":
        assert recipe.dockerfile is not None and recipe.dockerignore is not None
        variables["SCIA_GENERATED_DOCKERFILE"] = base64.b64encode(
            recipe.dockerfile.encode()
        ).decode()
        variables["SCIA_GENERATED_DOCKERIGNORE"] = base64.b64encode(
            recipe.dockerignore.encode()
        ).decode()
    if recipe.wrapper is not None:
        # The repository's Dockerfile: one more build adds the launcher (build/launcher.py).
        variables["SCIA_WRAPPER_DOCKERFILE"] = base64.b64encode(recipe.wrapper.encode()).decode()
    env: dict[str, object] = {"shell": "bash"}
    if variables:
        env["variables"] = variables
    if private and secret_arn:
        env["secrets-manager"] = {GIT_TOKEN_VARIABLE: secret_arn}
    spec = {"version": 0.2, "env": env, "phases": {"build": {"commands": [_SCRIPT]}}}
    return yaml.safe_dump(spec, sort_keys=False, width=1000)
