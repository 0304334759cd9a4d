"""The LINE WORKS edge (issue 27): POST /lineworks/callback, LINE WORKS' events → the inbox and `Incoming`.

Beside bot/line/: the inbox, the handling and the conversation are the same; only the wire format, the
signature and the sender differ (docs/lineworks-api.md).
"""
