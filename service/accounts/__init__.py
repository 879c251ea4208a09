"""Accounts: users, bearer tokens and the audit log, for admins."""
