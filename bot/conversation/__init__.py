"""The conversation: what a person said (Incoming) → what the bot answers (intents), with no platform in it."""
