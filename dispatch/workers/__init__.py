"""RQ workers for the referral guarantee: scheduling and reconciling checks (queue.py), the job functions
(deadlines.py), the worker process (runner.py) and the in-memory views of the log they read (views.py).

Nothing here is imported by this package's __init__: bootstrap imports queue.py, and deadlines.py imports
bootstrap, so a package-level import would make a cycle.
"""
