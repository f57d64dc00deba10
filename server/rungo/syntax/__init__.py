"""The tree-sitter-go facade: `summarize(source)` turns the bytes of one Go file into a FileSummary.

Importing this package is cheap; tree_sitter is loaded on the first call to summarize.
"""

from rungo.syntax.model import EmbedDirective, FileSummary, GoDebugDirective, ImportSpec, Position, SyntaxProblem
from rungo.syntax.summary import remember, summarize

__all__ = [
    "EmbedDirective",
    "FileSummary",
    "GoDebugDirective",
    "ImportSpec",
    "Position",
    "SyntaxProblem",
    "remember",
    "summarize",
]
