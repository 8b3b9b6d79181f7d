"""newsflow's Celery side: the app, its configuration, the thin stage tasks and the CLI."""
