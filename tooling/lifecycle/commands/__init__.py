"""The lifecycle commands, one module each, over one shared way of running stacks.

Each command module is what one ``./tap`` task (and the e2e tests) calls; none knows how the
command line spells a command: the commands a message tells a person to run come from the
caller as :class:`.hints.Hints` (``tasks.py`` builds them).

==============  ===========================================================================
module          concern
==============  ===========================================================================
hints           ``Hints``: the commands a message may name, spelled by the caller
context         what every command starts from: the stacks in deploy order, the session
stack_run       one command over the selected stacks on the scheduler: jobs, init gate,
                signals and the emulator's watchdog, the summary's next steps, the error
bootstrap       the state backend (``bootstrap-backend``) and the local account fixtures
deploy          ``deploy``: apply what changed since its last apply, write cfn-outputs
plan            ``plan``: terraform plan per stack and the plan reports
destroy         ``destroy``: reverse order, then the leftover check and its sweep
drift           ``drift``: live (plan, publish to CloudWatch) and ``--static`` (regions)
validate        ``validate``: terraform validate of every synthesized stack
unlock          ``unlock``: release exactly one state lock
emulator        ``emulator``: start, stop or report the local emulator
diagram         ``diagram``: the architecture pages, from an AWS-target synth of their own
==============  ===========================================================================
"""
