"""Source health: what each source's pages come to, and alarms when that drifts."""
