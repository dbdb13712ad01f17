"""The ``./tap`` command line beside ``tasks.py``: what the tasks share (:mod:`.shell`) and the
group of tasks on a deployed environment (:mod:`.deployment_tasks`), which ``tasks.py`` lists
with the lifecycle tasks."""
