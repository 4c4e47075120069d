"""Staff accounts, what each role may see and do, and the audit log."""
