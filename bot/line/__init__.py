"""The LINE edge: everything that knows LINE's webhook and reply tokens.

edge.py answers POST /callback (size, signature, parse, store, answer); events.py reads LINE's event JSON
(the inbox row, and `Incoming` for the conversation); handling.py handles one stored event
(to_incoming → respond → render → claim → deliver); render.py turns the bot's messages into LINE's;
delivery.py replies or pushes. LINE's limits live in messages/line_limits.py, where the builders can
use them too. The inbox the edge stores into is transport-neutral: bot/inbox/.
"""
