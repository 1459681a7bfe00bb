"""``dualpath chaos``: worker processes killed at random moments of a stack's life, and
the checks that nothing was lost, leaked or made twice."""
