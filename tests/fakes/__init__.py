"""Faithful fakes of paid external services, following their documented wire protocols."""
