import os

import redis
from flask import Flask, jsonify

app = Flask(__name__)
# REDIS_URL is given at start-up (function-scia's launcher assembles it: rediss://host:port/0).
store = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")


@app.post("/hits")
def hit():
    return jsonify(hits=store.incr("hits"))


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", 8000)))
