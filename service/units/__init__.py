"""Units (单位): the register of units, resolving the unit strings of plans to it, and who may report on a task."""
