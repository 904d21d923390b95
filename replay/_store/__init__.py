"""Writing files safely: the run directory, atomic writes, the lock, the event log."""
