"""The dualpath harness: scenarios, databases and the command line around the engines."""
