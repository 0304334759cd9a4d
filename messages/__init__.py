"""Everything the bot says: message builders, i18n and the senders that deliver them."""
