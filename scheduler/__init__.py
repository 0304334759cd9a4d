"""The clock process: scheduled jobs and outbox delivery."""
