"""Notifications to professionals: an outbox filled in each write's transaction, sent by a job."""
