"""What a deploy ships, built reproducibly: the Lambda zips and the synth stamp.

``lambda_zip`` builds ``dist/<service>.zip`` for every service (skipped when its inputs are
unchanged) from the service's own files (``service_wheel``, no pip) and its dependency layer
(``dependency_layer``: installed by pip through ``pip_install`` when what pip resolves changed,
else reused from ``.build/lambda-deps/``), zipped by ``reproducible_zip``; ``synth_stamp``
hashes everything a synth depends on, so an unchanged synth is skipped.
"""
