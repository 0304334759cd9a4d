"""The two comparison apps of the webhook benchmark, served by the same gunicorn settings as the bot.

- ``bench.apps:bare_app()``: Flask answering "ok" to POST /callback (the floor: Flask + gunicorn).
- ``bench.apps:signature_app()``: reads the body and checks X-Line-Signature exactly as the bot does
  (bot.line.edge.signature_is_valid), then answers "ok": the cost of the check without the inbox.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request


def bare_app() -> Flask:
    app = Flask("bare")

    @app.post("/callback")
    def callback():
        return jsonify(status="ok")

    return app


def signature_app() -> Flask:
    from bot.line.edge import MAX_BODY_BYTES, signature_is_valid

    secret = os.environ.get("LINE_CHANNEL_SECRET", "")
    app = Flask("signature")

    @app.post("/callback")
    def callback():
        request.max_content_length = MAX_BODY_BYTES
        body = request.get_data(cache=False)
        signature = request.headers.get("X-Line-Signature", "")
        if not signature or not signature_is_valid(secret, body, signature):
            return jsonify(error="invalid signature"), 400
        return jsonify(status="ok")

    return app
