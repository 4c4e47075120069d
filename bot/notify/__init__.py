"""Getting updates to residents and running the scheduled jobs (survey reminders, unrated
closings, overdue checks) from the database, in one web-app process at a time."""
