"""Reusable constructs of one regional deployment, one concern each."""
