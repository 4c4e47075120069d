"""The staff console under /staff/: login, the ticket queue and the ticket page."""
