"""`python -m function.api` runs scia-api (the same as the `scia-api` command)."""

from function.api.main import cli

cli()
