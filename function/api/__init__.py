"""scia-api: the GraphQL API (and the web UI's files) over the Kubernetes API and the memory.

A separate process from the function (`scia-api`, see main.py). Authorization is the
caller's own Kubernetes identity: see kube.py and auth.py.
"""
