"""Guard rails that hold over time and under attack.

- `pincheck`: a pinned decision is checked against today's platform rules on every render.
- `text`: untrusted text (model output, tenant input) made safe to show, or refused.
"""
