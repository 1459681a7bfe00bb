"""Everything that reads a run file (docs/run-format.md): validation, the HTML, JUnit and
Markdown reports, the flip gate, and the comparison of two runs. Nothing here runs a
scenario: the run file is the only input."""
