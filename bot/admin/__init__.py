"""/newsbot: the owner's commands."""
