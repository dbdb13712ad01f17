"""The deploy lifecycle of the synthesized stacks, one concern per module.

What ``./tap deploy|plan|destroy|drift|validate|bootstrap-backend|preflight`` (``tasks.py``, a
thin shell) and the e2e tests call. Nothing here imports ``tasks`` or invoke; failures are
:class:`errors.LifecycleError` carrying the exit code a command line should end with.

==============  ===========================================================================
module          concern
==============  ===========================================================================
errors          ``LifecycleError``: the message to show and the exit code
workspace       ``Workspace``: repository, synth directory, target, port and output of a run
selection       which environments ``--env`` selects (``TF_WORKSPACE`` pins a run to one)
session         ``Session``: where terraform and boto3 run (local: the emulator, loopback only)
account_clients the boto3 clients of an environment's account (its profile, its role assumed)
backend         the Terraform state bucket and lock table of platform.toml ``[state]``, made
                in each environment's account, and the key administrators (``key_admin``)
key_admin       the role the KMS key policies name as key administrator, created when missing
preflight/      ``./tap preflight``: read-only checks of an AWS account before any apply (a
                package: identity, account prerequisites, bucket names, quotas, the runner)
synth           build the Lambda zips and synthesize the stacks (both incremental)
graph           ``StackInfo`` and the dependency edges between stacks (``depends_on``), in order
runs            terraform init / apply / destroy / plan of one stack, with streamed progress
applied         the fingerprint recorded after each apply: which stacks a deploy may skip
locks           state locks: stale ones released (holder gone, emulator orphan), ``unlock``
holders         who holds a state lock (holder records next to the state), and whether it is gone
adoption        resources an interrupted apply left outside the state, adopted by import blocks
import_ids      the ID ``terraform import`` needs per resource type (configuration, state, AWS)
outputs         ``cfn-outputs/flat-outputs.json``: the outputs of what was deployed
leftovers       what of the platform is still there after a destroy
sweep           deleting what the leftover check lists
protection      ``destroy`` refuses an environment whose data is protected (``protect_data``)
scheduler       running the stacks as a DAG of jobs, ``parallel`` at a time
display         the live display (terminal) or prefixed lines (CI), and the summary table
interrupts      SIGINT/SIGTERM as a graceful stop, and the emulator's watchdog
orchestrate     the commands: deploy, plan, destroy, drift (live and static), validate, bootstrap,
                unlock, on the scheduler
bench           ``./tap bench --lifecycle``: sequential vs parallel wall times
==============  ===========================================================================

Imports go one way: ``orchestrate`` uses the others; the others use ``tooling.terraform``,
``tooling.emulator``, ``tooling.build`` and ``tooling.drift``, never the reverse.
"""
