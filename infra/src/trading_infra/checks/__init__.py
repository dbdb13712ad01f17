"""Rules checked over the synthesized Terraform JSON (the contract) on every synth."""
