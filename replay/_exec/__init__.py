"""Running plans: the executor (the one module that spawns processes), its watchdog, the run."""
