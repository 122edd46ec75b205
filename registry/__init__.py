"""The national NPI registry (NPPES): listed therapists checked against its monthly file."""
