"""What a deploy ships, built reproducibly: the Lambda zips and the synth stamp.

``lambda_zip`` builds ``dist/<service>.zip`` for every service (skipped when its inputs are
unchanged); ``synth_stamp`` hashes everything a synth depends on, so an unchanged synth is skipped.
"""
