"""The route optimiser: a library inside the routing app.

A `Problem` (problem.py) in integers, timed and checked by the scheduler (schedule.py),
solved by racing engines (solver.py, engines/, one worker.py process per core), checked
apart by checker.py; travel matrices (matrix.py) and benchmark instances (solomon.py,
instances.py). It imports no Django and no app (the `optimiser` contract of
import-linter); routing's services turn models into a problem and the answer back.
"""
