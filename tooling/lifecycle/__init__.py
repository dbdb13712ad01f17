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
pipeline_model  the CI pipeline's identity as data: the OIDC provider, the plan and deploy roles
pipeline_identity  their trust and permission policies (pure: config and synthesized stacks in)
deploy_permissions  ``{resource type: actions}``: what a deploy role may do, per declared type
permission_scopes  the resource patterns and conditions that narrow those actions
pipeline_backend  the pipeline step of the account bootstrap (which roles, which accounts)
pipeline_roles  creating or updating the provider and roles with boto3 (idempotent, tagged)
preflight/      ``./tap preflight``: read-only checks of an AWS account before any apply (a
                package: identity, account prerequisites, bucket names, quotas, the runner)
synth           build the Lambda zips and synthesize the stacks (both incremental)
graph           ``StackInfo`` and the dependency edges between stacks (``depends_on``), in order
runs            terraform init / apply / destroy / plan of one stack, with streamed progress
first_plans     how plan plans what does not exist yet: against an empty state (no state
                bucket), or waiting for a state it reads
terraform_events  terraform's machine-readable UI (``-json``): one message per line, rendered
init_marker     whether a stack is initialised for its ``terraform`` block (init only when not)
applied         the fingerprint recorded after each apply: which stacks a deploy may skip
state_lock      terraform's lock of one state (lock-table item, S3 lock file), released by ID
locks           state locks: stale ones released (holder gone, emulator orphan), ``unlock``
holders         who holds a state lock (holder records next to the state), and whether it is gone
adoption        resources an interrupted apply left outside the state, adopted by import blocks
adoption_run    the adoption step of an apply: plan the orphans' attributes, write the blocks
import_ids      the ID ``terraform import`` needs, from a saved plan's planned values
import_rules    the one ``{resource type: rule}`` table of import IDs
import_lookups  the IDs only AWS knows (a queue's URL, a rule's ``sgr-`` ID), looked up
outputs         ``cfn-outputs/flat-outputs.json``: the outputs of what was deployed
leftovers       what of the platform is still there after a destroy
sweep           deleting what the leftover check lists
resource_kinds/ the registry of resource kinds: how the leftover check finds each, how the
                sweep deletes it, in which order
protection      ``destroy`` refuses an environment whose data is protected (``protect_data``)
scheduler       running the stacks as a DAG of jobs, ``parallel`` at a time
display         the live display (terminal) or prefixed lines (CI), and the summary table
interrupts      SIGINT/SIGTERM as a graceful stop, and the emulator's watchdog
commands/       the commands, one module each (deploy, plan, destroy, drift, validate,
                bootstrap, unlock, ...), over one stack runner (``commands.stack_run``); the
                ``./tap`` spellings in their hints come from ``tasks.py`` (``commands.hints``)
bench           ``./tap bench --lifecycle``: sequential vs parallel wall times
==============  ===========================================================================

Imports go one way: ``commands`` uses the others; the others use ``tooling.terraform``,
``tooling.emulator``, ``tooling.build`` and ``tooling.drift``, never the reverse.
"""
