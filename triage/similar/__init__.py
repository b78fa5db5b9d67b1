"""Finding similar resolved tickets: dense, lexical and fused rankings."""
