"""Projects: the register (plans parsed and imported), locations set by a person, queries."""
