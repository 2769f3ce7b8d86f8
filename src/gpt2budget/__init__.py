"""gpt2budget: can I train a GPT-2-class model on this hardware, in this time, and will it fit?"""

__version__ = "0.1.0"
SCHEMA_VERSION = 1
