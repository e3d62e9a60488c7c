"""The common floor: what the audit and the prevention wings both stand on.

Phone parsing, the directory and registry list readers (so the audit and the service
can never read the same list differently), custody hashing, case keys, TOML reading,
progress callbacks and number classes. Nothing here imports either wing.
"""
