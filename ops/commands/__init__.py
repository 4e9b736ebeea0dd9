"""The application service's commands, one module per aggregate; ``ops.service`` composes them."""
