"""ansinh: the system of record of a social security agency (social, health and unemployment insurance)."""

__version__ = "0.1.0"
