"""LINE's OpenAPI specs (Apache-2.0), vendored as package data for messages.validator."""
