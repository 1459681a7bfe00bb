"""The parity experiment, in reading order:

1. ``runner``: plan (scenarios x paths x repeats), run the units in parallel, assemble the
   run file;
2. ``execute``: one scenario on one path, step by step (each step's meaning is in
   ``scenarios/steps/``);
3. ``observation``: the snapshot after each step, through the public API;
4. ``normalize``: ids and timestamps become stable names;
5. ``diff``: the differences between two snapshot sequences;
6. ``classify``: between repeats of one path noise (random values, masked by
   ``normalize``) or flaky; between the paths noise, expected (``divergence_registry``),
   unexpected; the verdict;
7. ``provenance``: the commit and configuration a run file records.
"""
