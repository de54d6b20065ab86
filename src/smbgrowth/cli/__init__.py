"""Command-line interface (Typer + Rich), a thin shell over the library."""
