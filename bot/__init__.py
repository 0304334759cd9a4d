"""The Flask app (webhook, conversation) and the `dxbot` command line."""
