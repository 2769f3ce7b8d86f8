"""The command line (Typer): options parsed, the library called, the output layer rendering."""
